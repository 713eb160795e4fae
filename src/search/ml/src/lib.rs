//! skillrt's search models behind a C ABI (declared in src/search/ml.h):
//!
//! * a sentence embedder: a BERT encoder (all-MiniLM-L6-v2 layout) run by candle from a
//!   safetensors file, its WordPiece tokenizer from `tokenizer.json` (HF tokenizers), and
//!   attention-masked mean pooling followed by L2 normalisation (the sentence-transformers
//!   recipe named in the model's `modules.json`: Transformer, Pooling(mean), Normalize);
//! * a BPE token counter over tiktoken's cl100k_base or o200k_base ranks (bundled by the
//!   tiktoken-rs crate), used for token budgets.
//!
//! Every function catches panics at the boundary: a panic never unwinds into C++.
//! Errors come back as a malloc'd message the caller frees with `skillrt_ml_free_string`.

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::Tokenizer;

/// Longest input in WordPiece tokens; the model was trained on 128 (its
/// sentence_bert_config.json says max_seq_length 256), longer text is truncated.
const MAX_TOKENS: usize = 256;

pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    dim: usize,
    device: Device,
}

fn set_error(err: *mut *mut c_char, message: String) {
    if err.is_null() {
        return;
    }
    let clean = message.replace('\0', " ");
    let c = CString::new(clean).unwrap_or_default();
    unsafe { *err = c.into_raw() };
}

fn load(dir: &Path) -> Result<Embedder, String> {
    let config_path = dir.join("config.json");
    let config_text = std::fs::read_to_string(&config_path)
        .map_err(|e| format!("{}: {e}", config_path.display()))?;
    let config: Config = serde_json::from_str(&config_text)
        .map_err(|e| format!("{}: {e}", config_path.display()))?;
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
    let weights = dir.join("model.safetensors");
    let device = Device::Cpu;
    // SAFETY: the file is memory-mapped read-only; skillrt's model cache is not modified
    // while a process runs (the setup step writes a new directory and renames it).
    let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &device) }
        .map_err(|e| format!("{}: {e}", weights.display()))?;
    let model = BertModel::load(vb, &config).map_err(|e| format!("{}: {e}", weights.display()))?;
    Ok(Embedder { model, tokenizer, dim: config.hidden_size, device })
}

fn embed_batch(e: &Embedder, texts: &[&str], out: &mut [f32]) -> Result<(), String> {
    let encodings = e
        .tokenizer
        .encode_batch(texts.to_vec(), true)
        .map_err(|err| format!("tokenize: {err}"))?;
    let longest = encodings.iter().map(|x| x.get_ids().len()).max().unwrap_or(0).max(1);
    let n = texts.len();
    let mut ids = vec![0u32; n * longest];
    let mut mask = vec![0u32; n * longest];
    for (row, enc) in encodings.iter().enumerate() {
        for (col, id) in enc.get_ids().iter().enumerate() {
            ids[row * longest + col] = *id;
            mask[row * longest + col] = 1;
        }
    }
    let run = || -> candle_core::Result<Vec<f32>> {
        let ids = Tensor::from_vec(ids, (n, longest), &e.device)?;
        let mask = Tensor::from_vec(mask, (n, longest), &e.device)?;
        let types = ids.zeros_like()?;
        let hidden = e.model.forward(&ids, &types, Some(&mask))?; // (n, len, dim)
        let mask_f = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (n, len, 1)
        let summed = hidden.broadcast_mul(&mask_f)?.sum(1)?; // (n, dim)
        let counts = mask_f.sum(1)?.clamp(1e-9, f32::MAX)?; // (n, 1)
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f32::MAX)?;
        mean.broadcast_div(&norm)?.flatten_all()?.to_vec1::<f32>()
    };
    let values = run().map_err(|err| format!("encode: {err}"))?;
    if values.len() != out.len() {
        return Err(format!("model gave {} values, expected {}", values.len(), out.len()));
    }
    out.copy_from_slice(&values);
    Ok(())
}

/// Loads the model in `dir` (config.json, tokenizer.json, model.safetensors). Returns null and
/// sets `*err` on failure. The handle is freed with `skillrt_ml_embedder_free`.
#[no_mangle]
pub extern "C" fn skillrt_ml_embedder_new(dir: *const c_char, err: *mut *mut c_char) -> *mut Embedder {
    let result = catch_unwind(|| {
        if dir.is_null() {
            return Err("null model directory".to_string());
        }
        let dir = unsafe { CStr::from_ptr(dir) }.to_str().map_err(|e| e.to_string())?;
        load(Path::new(dir))
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
        embed_batch(e, &strs, out)
    }));
    match result {
        Ok(Ok(())) => 0,
        Ok(Err(message)) => {
            set_error(err, message);
            -1
        }
        Err(_) => {
            set_error(err, "panic while embedding".to_string());
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
