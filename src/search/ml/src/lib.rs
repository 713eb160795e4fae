//! skillrt's search models behind a C ABI (declared in src/search/ml.h):
//!
//! * a sentence embedder: all-MiniLM-L6-v2 as an ONNX graph (`model.onnx`) run by ONNX Runtime,
//!   its WordPiece tokenizer from `tokenizer.json` (HF tokenizers), and attention-masked mean
//!   pooling followed by L2 normalisation (the sentence-transformers recipe named in the
//!   model's `modules.json`: Transformer, Pooling(mean), Normalize). ONNX Runtime's shared
//!   library is opened with dlopen (the `ort` crate's load-dynamic) at the first embedding, not
//!   when the embedder is made, so a process that never embeds never loads it;
//! * a BPE token counter over tiktoken's cl100k_base or o200k_base ranks (bundled by the
//!   tiktoken-rs crate), used for token budgets.
//!
//! Every function catches panics at the boundary: a panic never unwinds into C++.
//! Errors come back as a malloc'd message the caller frees with `skillrt_ml_free_string`.

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor;
use tokenizers::Tokenizer;

/// Longest input in WordPiece tokens; the model was trained on 128 (its
/// sentence_bert_config.json says max_seq_length 256), longer text is truncated.
const MAX_TOKENS: usize = 256;

/// Texts run through the model at once: batches of texts of similar length (sorted first)
/// waste little on padding, and 32 keeps a batch's activations in cache.
const BATCH: usize = 32;

/// The ONNX Runtime session, made at the first embedding.
static RUNTIME: OnceLock<Result<(), String>> = OnceLock::new();

pub struct Embedder {
    tokenizer: Tokenizer,
    dim: usize,
    model_path: PathBuf,
    runtime_path: String,
    session: OnceLock<Result<Mutex<Session>, String>>,
}

fn set_error(err: *mut *mut c_char, message: String) {
    if err.is_null() {
        return;
    }
    let clean = message.replace('\0', " ");
    let c = CString::new(clean).unwrap_or_default();
    unsafe { *err = c.into_raw() };
}

fn load(dir: &Path, runtime_path: &str) -> Result<Embedder, String> {
    let config_path = dir.join("config.json");
    let config_text = std::fs::read_to_string(&config_path)
        .map_err(|e| format!("{}: {e}", config_path.display()))?;
    let config: serde_json::Value = serde_json::from_str(&config_text)
        .map_err(|e| format!("{}: {e}", config_path.display()))?;
    let dim = config
        .get("hidden_size")
        .and_then(|v| v.as_u64())
        .filter(|&d| d > 0)
        .ok_or_else(|| format!("{}: no positive hidden_size", config_path.display()))?
        as usize;
    let tokenizer_path = dir.join("tokenizer.json");
    let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
        .map_err(|e| format!("{}: {e}", tokenizer_path.display()))?;
    // The packaged tokenizer.json pads every input to 128 tokens; pooling must see only
    // real tokens, so padding is switched off here and done per batch with a mask.
    tokenizer.with_padding(None);
    tokenizer
        .with_truncation(Some(tokenizers::TruncationParams {
            max_length: MAX_TOKENS,
            ..Default::default()
        }))
        .map_err(|e| format!("tokenizer truncation: {e}"))?;
    let model_path = dir.join("model.onnx");
    if !model_path.is_file() {
        return Err(format!("{}: no such file", model_path.display()));
    }
    if !Path::new(runtime_path).is_file() {
        return Err(format!("ONNX Runtime library {runtime_path}: no such file"));
    }
    Ok(Embedder {
        tokenizer,
        dim,
        model_path,
        runtime_path: runtime_path.to_string(),
        session: OnceLock::new(),
    })
}

/// Checks that `path` is a shared library with ONNX Runtime's C API entry point, so that a wrong
/// file is an error naming it rather than a panic inside ort.
fn check_runtime(path: &str) -> Result<(), String> {
    // SAFETY: loading runs the library's initialisers; the path is the ONNX Runtime library the
    // setup step installed (or $SKILLRT_ONNXRUNTIME), the one ort is about to load anyway.
    let lib = unsafe { libloading::Library::new(path) }
        .map_err(|err| format!("ONNX Runtime library {path}: {err}"))?;
    // SAFETY: only the symbol's presence is checked; it is not called here.
    unsafe { lib.get::<unsafe extern "C" fn() -> *const std::ffi::c_void>(b"OrtGetApiBase\0") }
        .map(|_| ())
        .map_err(|err| format!("ONNX Runtime library {path}: no OrtGetApiBase: {err}"))
}

/// Opens ONNX Runtime (once per process) and the model (once per embedder). One intra-op
/// thread: on a small shared machine a second thread costs more in hand-offs than it gains for
/// one short query, and callers that embed in bulk run on their own thread anyway.
fn session(e: &Embedder) -> Result<&Mutex<Session>, String> {
    RUNTIME
        .get_or_init(|| {
            check_runtime(&e.runtime_path)?;
            ort::init_from(e.runtime_path.clone())
                .with_name("skillrt-search")
                .commit()
                .map(|_| ())
                .map_err(|err| format!("ONNX Runtime {}: {err}", e.runtime_path))
        })
        .clone()?;
    e.session
        .get_or_init(|| {
            let open = || -> ort::Result<Session> {
                Session::builder()?
                    .with_optimization_level(GraphOptimizationLevel::Level3)?
                    .with_intra_threads(1)?
                    .with_inter_threads(1)?
                    .commit_from_file(&e.model_path)
            };
            open().map(Mutex::new).map_err(|err| format!("{}: {err}", e.model_path.display()))
        })
        .as_ref()
        .map_err(|err| err.clone())
}

/// Embeds texts that are already tokenized, all padded to the longest, into `out`.
fn run_batch(e: &Embedder, encodings: &[&tokenizers::Encoding], out: &mut [f32]) -> Result<(), String> {
    let longest = encodings.iter().map(|x| x.get_ids().len()).max().unwrap_or(0).max(1);
    let n = encodings.len();
    let mut ids = vec![0i64; n * longest];
    let mut mask = vec![0i64; n * longest];
    for (row, enc) in encodings.iter().enumerate() {
        for (col, id) in enc.get_ids().iter().enumerate() {
            ids[row * longest + col] = i64::from(*id);
            mask[row * longest + col] = 1;
        }
    }
    let types = vec![0i64; n * longest];
    let shape = vec![n as i64, longest as i64];
    let session = session(e)?;
    let tensor = |v: Vec<i64>| Tensor::from_array((shape.clone(), v)).map_err(|err| format!("input: {err}"));
    let inputs = ort::inputs![
        "input_ids" => tensor(ids)?,
        "attention_mask" => tensor(mask.clone())?,
        "token_type_ids" => tensor(types)?,
    ];
    let mut guard = session.lock().map_err(|_| "model session poisoned".to_string())?;
    let outputs = guard.run(inputs).map_err(|err| format!("encode: {err}"))?;
    let (out_shape, hidden) = outputs[0]
        .try_extract_tensor::<f32>()
        .map_err(|err| format!("encode output: {err}"))?;
    let dim = e.dim;
    if out_shape.len() != 3 || out_shape[0] as usize != n || out_shape[1] as usize != longest || out_shape[2] as usize != dim {
        return Err(format!("model output has shape {out_shape:?}, expected [{n}, {longest}, {dim}]"));
    }
    for row in 0..n {
        let dst = &mut out[row * dim..(row + 1) * dim];
        dst.fill(0.0);
        let mut count = 0.0f32;
        for col in 0..longest {
            if mask[row * longest + col] == 0 {
                continue;
            }
            count += 1.0;
            let src = &hidden[(row * longest + col) * dim..(row * longest + col + 1) * dim];
            for (d, s) in dst.iter_mut().zip(src) {
                *d += *s;
            }
        }
        let count = count.max(1e-9);
        let mut norm = 0.0f32;
        for d in dst.iter_mut() {
            *d /= count;
            norm += *d * *d;
        }
        let norm = norm.sqrt().max(1e-12);
        for d in dst.iter_mut() {
            *d /= norm;
        }
    }
    Ok(())
}

fn embed_all(e: &Embedder, texts: &[&str], out: &mut [f32]) -> Result<(), String> {
    let encodings = e
        .tokenizer
        .encode_batch(texts.to_vec(), true)
        .map_err(|err| format!("tokenize: {err}"))?;
    // Batches of similar length; each text's row is written back at its own place. A text's
    // vector does not depend on its batch: padding is masked out of attention and pooling.
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| encodings[i].get_ids().len());
    let dim = e.dim;
    let mut rows = vec![0f32; BATCH * dim];
    for chunk in order.chunks(BATCH) {
        let batch: Vec<&tokenizers::Encoding> = chunk.iter().map(|&i| &encodings[i]).collect();
        run_batch(e, &batch, &mut rows[..chunk.len() * dim])?;
        for (k, &i) in chunk.iter().enumerate() {
            out[i * dim..(i + 1) * dim].copy_from_slice(&rows[k * dim..(k + 1) * dim]);
        }
    }
    Ok(())
}

/// Reads the tokenizer and configuration in `dir` (config.json, tokenizer.json) and checks that
/// `dir/model.onnx` and the ONNX Runtime library at `runtime` exist; both are opened at the
/// first embedding. Returns null and sets `*err` on failure. The handle is freed with
/// `skillrt_ml_embedder_free`.
#[no_mangle]
pub extern "C" fn skillrt_ml_embedder_new(
    dir: *const c_char,
    runtime: *const c_char,
    err: *mut *mut c_char,
) -> *mut Embedder {
    let result = catch_unwind(|| {
        if dir.is_null() || runtime.is_null() {
            return Err("null model directory or runtime path".to_string());
        }
        let dir = unsafe { CStr::from_ptr(dir) }.to_str().map_err(|e| e.to_string())?;
        let runtime = unsafe { CStr::from_ptr(runtime) }.to_str().map_err(|e| e.to_string())?;
        load(Path::new(dir), runtime)
    });
    match result {
        Ok(Ok(e)) => Box::into_raw(Box::new(e)),
        Ok(Err(message)) => {
            set_error(err, message);
            std::ptr::null_mut()
        }
        Err(_) => {
            set_error(err, "panic while loading the model".to_string());
            std::ptr::null_mut()
        }
    }
}

#[no_mangle]
pub extern "C" fn skillrt_ml_embedder_free(e: *mut Embedder) {
    if !e.is_null() {
        drop(unsafe { Box::from_raw(e) });
    }
}

#[no_mangle]
pub extern "C" fn skillrt_ml_embedder_dim(e: *const Embedder) -> usize {
    if e.is_null() {
        0
    } else {
        unsafe { (*e).dim }
    }
}

/// Embeds `count` UTF-8 texts (`texts[i]` of `lens[i]` bytes) into `out`, `count * dim` floats,
/// row-major, each row of unit length. Returns 0, or -1 with `*err` set.
#[no_mangle]
pub extern "C" fn skillrt_ml_embed(
    e: *const Embedder,
    texts: *const *const c_char,
    lens: *const usize,
    count: usize,
    out: *mut f32,
    err: *mut *mut c_char,
) -> i32 {
    let result = catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
        if e.is_null() || (count > 0 && (texts.is_null() || lens.is_null() || out.is_null())) {
            return Err("null argument".to_string());
        }
        if count == 0 {
            return Ok(());
        }
        let e = unsafe { &*e };
        let mut strs = Vec::with_capacity(count);
        for i in 0..count {
            let bytes = unsafe { std::slice::from_raw_parts(*texts.add(i) as *const u8, *lens.add(i)) };
            strs.push(std::str::from_utf8(bytes).map_err(|x| format!("text {i}: not UTF-8: {x}"))?);
        }
        let out = unsafe { std::slice::from_raw_parts_mut(out, count * e.dim) };
        embed_all(e, &strs, out)
    }));
    match result {
        Ok(Ok(())) => 0,
        Ok(Err(message)) => {
            set_error(err, message);
            -1
        }
        Err(payload) => {
            let what = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("unknown");
            set_error(err, format!("panic while embedding: {what}"));
            -1
        }
    }
}

fn bpe(encoding: i32) -> Option<&'static tiktoken_rs::CoreBPE> {
    match encoding {
        0 => Some(tiktoken_rs::cl100k_base_singleton()),
        1 => Some(tiktoken_rs::o200k_base_singleton()),
        _ => None,
    }
}

/// Number of BPE tokens in `len` bytes of UTF-8 at `text` under `encoding` (0: cl100k_base,
/// 1: o200k_base), special tokens counted as text. Returns -1 for an unknown encoding,
/// invalid UTF-8 or a panic.
#[no_mangle]
pub extern "C" fn skillrt_ml_count_tokens(encoding: i32, text: *const c_char, len: usize) -> i64 {
    let result = catch_unwind(|| -> i64 {
        let Some(bpe) = bpe(encoding) else { return -1 };
        if len == 0 {
            return 0;
        }
        if text.is_null() {
            return -1;
        }
        let bytes = unsafe { std::slice::from_raw_parts(text as *const u8, len) };
        match std::str::from_utf8(bytes) {
            Ok(s) => bpe.encode_ordinary(s).len() as i64,
            Err(_) => -1,
        }
    });
    result.unwrap_or(-1)
}

#[no_mangle]
pub extern "C" fn skillrt_ml_free_string(s: *mut c_char) {
    if !s.is_null() {
        drop(unsafe { CString::from_raw(s) });
    }
}
