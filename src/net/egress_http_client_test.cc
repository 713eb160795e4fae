#include "net/egress_http_client.h"

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "http_test_server.h"

namespace skillrt::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using ::skillrt::testing::HttpTestServer;

class EgressHttpClientTest : public ::testing::Test {
 protected:
  // A client whose allowlist is the test server's address and port.
  std::unique_ptr<EgressHttpClient> Client(EgressHttpClientOptions options = {}) {
    auto policy = EgressPolicy::Create({EgressRule{.host = "127.0.0.1", .port = server_.port()}});
    EXPECT_TRUE(policy) << policy.error().ToString();
    return std::make_unique<EgressHttpClient>(std::move(*policy),
                                              std::make_shared<SystemResolver>(), options);
  }

  std::string Url(std::string_view path = "/doc") const {
    return "http://127.0.0.1:" + std::to_string(server_.port()) + std::string(path);
  }

  HttpTestServer server_{"origin"};
};

TEST_F(EgressHttpClientTest, AllowedRequestReturnsTheResponseAndOneRecord) {
  auto client = Client();
  auto response = client->Send({.method = "GET", .url = Url("/doc?q=1"),
                                .headers = {{"X-Test", "yes"}, {"X-Empty", ""}}},
                               Clock::now() + 10s, 1 << 20);
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "hello from origin: GET /doc?q=1 HTTP/1.1\n");
  EXPECT_NE(response->headers.find("Content-Type: text/plain\r\n"), std::string::npos)
      << response->headers;
  ASSERT_EQ(server_.requests().size(), 1u);
  EXPECT_NE(server_.requests()[0].find("\r\nX-Test: yes"), std::string::npos);
  EXPECT_NE(server_.requests()[0].find("\r\nX-Empty:"), std::string::npos);

  std::vector<EgressRecord> records = client->TakeRecords();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].allowed);
  EXPECT_EQ(records[0].method, "GET");
  EXPECT_EQ(records[0].address, "127.0.0.1");
  // The client closed first and the proxy had time to see it: a normal end, not a cut.
  EXPECT_EQ(records[0].reason, "");
  EXPECT_GT(records[0].bytes_received, response->body.size());
  EXPECT_TRUE(client->TakeRecords().empty());
}

TEST_F(EgressHttpClientTest, RefusedDestinationsAreDeniedWithTheReason) {
  auto client = Client();
  for (const std::string& url : std::vector<std::string>
       {"http://127.0.0.1:" + std::to_string(server_.port() + 1) + "/",
        "https://127.0.0.1:" + std::to_string(server_.port() + 1) + "/",
        std::string("http://169.254.169.254/latest/meta-data/"), std::string("http://10.0.0.1/")}) {
    SCOPED_TRACE(url);
    auto response = client->Send({.method = "GET", .url = url}, Clock::now() + 10s, 1 << 20);
    ASSERT_FALSE(response);
    EXPECT_EQ(response.error().kind, HttpFailure::kDenied);
    EXPECT_EQ(response.error().message.rfind("egress refused: ", 0), 0u) << response.error().message;
    std::vector<EgressRecord> records = client->TakeRecords();
    ASSERT_EQ(records.size(), 1u);
    EXPECT_FALSE(records[0].allowed);
    EXPECT_EQ(records[0].method, url.starts_with("https") ? "CONNECT" : "GET");
  }
  EXPECT_EQ(server_.connections(), 0);
  // Positive control: the same client reaches the allowed destination.
  EXPECT_TRUE(client->Send({.method = "GET", .url = Url()}, Clock::now() + 10s, 1 << 20));
}

TEST_F(EgressHttpClientTest, MalformedRequestsAreRefusedBeforeAnyConnection) {
  auto client = Client();
  const HttpRequest bad[] = {
      {.method = "get", .url = Url()},
      {.method = "", .url = Url()},
      {.method = "CONNECT", .url = Url()},
      {.method = "GET", .url = "ftp://127.0.0.1/"},
      {.method = "GET", .url = "127.0.0.1/no-scheme"},
      {.method = "GET", .url = "http://user:secret@127.0.0.1/"},
      {.method = "GET", .url = "http://127.0.0.1/" + std::string(9000, 'a')},
      {.method = "GET", .url = Url(), .headers = {{"Host", "elsewhere"}}},
      {.method = "GET", .url = Url(), .headers = {{"transfer-encoding", "chunked"}}},
      {.method = "GET", .url = Url(), .headers = {{"Proxy-Authorization", "x"}}},
      {.method = "GET", .url = Url(), .headers = {{"X-A", "1\r\nX-Injected: 1"}}},
      {.method = "GET", .url = Url(), .headers = {{"Bad Name", "1"}}},
  };
  for (const HttpRequest& request : bad) {
    SCOPED_TRACE(request.method + " " + request.url.substr(0, 60));
    auto response = client->Send(request, Clock::now() + 10s, 1 << 20);
    ASSERT_FALSE(response);
    EXPECT_EQ(response.error().kind, HttpFailure::kInvalid) << response.error().message;
  }
  EXPECT_TRUE(client->TakeRecords().empty());
  EXPECT_EQ(server_.connections(), 0);
}

TEST_F(EgressHttpClientTest, BoundsOnTheBodyTheDeadlineAndTheRequestCount) {
  auto client = Client({.max_requests = 3});
  auto small = client->Send({.method = "GET", .url = Url()}, Clock::now() + 10s, 5);
  ASSERT_FALSE(small);
  EXPECT_EQ(small.error().kind, HttpFailure::kTooLarge) << small.error().message;
  auto late = client->Send({.method = "GET", .url = Url()}, Clock::now() - 1ms, 1 << 20);
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error().kind, HttpFailure::kTimeout);
  EXPECT_TRUE(client->Send({.method = "POST", .url = Url(), .body = "abc"}, Clock::now() + 10s,
                           1 << 20));
  EXPECT_TRUE(client->Send({.method = "HEAD", .url = Url()}, Clock::now() + 10s, 1 << 20));
  auto fourth = client->Send({.method = "GET", .url = Url()}, Clock::now() + 10s, 1 << 20);
  ASSERT_FALSE(fourth);
  EXPECT_EQ(fourth.error().kind, HttpFailure::kInvalid);
  EXPECT_NE(fourth.error().message.find("more than 3 requests"), std::string::npos);
  EXPECT_EQ(server_.connections(), 3);  // The too-large one, POST and HEAD.
}

TEST_F(EgressHttpClientTest, AnEmptyAllowlistRefusesEverything) {
  auto policy = EgressPolicy::Create({});
  ASSERT_TRUE(policy);
  EgressHttpClient client(std::move(*policy), std::make_shared<SystemResolver>());
  auto response = client.Send({.method = "GET", .url = Url()}, Clock::now() + 10s, 1 << 20);
  ASSERT_FALSE(response);
  EXPECT_EQ(response.error().kind, HttpFailure::kDenied);
  EXPECT_EQ(client.TakeRecords().size(), 1u);
  EXPECT_EQ(server_.connections(), 0);
}

}  // namespace
}  // namespace skillrt::net
