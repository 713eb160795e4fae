"""A private PostgreSQL server for the tests: initdb into a temporary directory, listening only
on a Unix socket in that directory, stopped and removed at the end. Debian's `postgresql`
package provides the programs; the server runs as the `postgres` user (it refuses root)."""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time


def find_bin():
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(candidate, "initdb")):
            return candidate
    found = shutil.which("initdb")
    return os.path.dirname(found) if found else None


def unavailable_reason():
    if not find_bin():
        return "PostgreSQL is not installed (Debian package postgresql)"
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return "there is no postgres user to run the server as"
    if os.getuid() != 0:
        return "starting a private PostgreSQL as the postgres user needs root"
    return None


class PostgresServer:
    def __init__(self):
        self.bin = find_bin()
        self.dir = tempfile.mkdtemp(prefix="skillrt-pg-", dir="/tmp")
        self.data = os.path.join(self.dir, "data")
        user = pwd.getpwnam("postgres")
        os.chown(self.dir, user.pw_uid, user.pw_gid)
        self.proc = None

    def _as_postgres(self, argv, **kw):
        return subprocess.run(["runuser", "-u", "postgres", "--"] + argv, check=True,
                              capture_output=True, text=True, **kw)

    def start(self):
        self._as_postgres([os.path.join(self.bin, "initdb"), "-D", self.data, "--auth=trust",
                           "-U", "postgres", "--no-sync", "-E", "UTF8"])
        self.proc = subprocess.Popen(
            ["runuser", "-u", "postgres", "--", os.path.join(self.bin, "postgres"),
             "-D", self.data, "-k", self.dir, "-c", "listen_addresses=", "-c", "fsync=off",
             "-c", "max_connections=200"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "log"), "w"))
        deadline = time.time() + 60
        while time.time() < deadline:
            r = subprocess.run([os.path.join(self.bin, "pg_isready"), "-h", self.dir, "-U",
                                "postgres"], capture_output=True)
            if r.returncode == 0:
                break
            assert self.proc.poll() is None, open(os.path.join(self.dir, "log")).read()
            time.sleep(0.1)
        return self

    def create_database(self, name):
        subprocess.run([os.path.join(self.bin, "createdb"), "-h", self.dir, "-U", "postgres",
                        name], check=True, capture_output=True)
        return "postgresql:///%s?host=%s&user=postgres" % (name, self.dir)

    def psql(self, url_db, sql):
        return subprocess.run(["psql", "-h", self.dir, "-U", "postgres", "-d", url_db, "-At",
                               "-c", sql], check=True, capture_output=True, text=True).stdout

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
