//! The safetensors files: `weights.safetensors` (the best weights),
//! `checkpoint.safetensors` (the last weights, Adam's moments and the training state), with
//! tensor names from the network's parameter visitor, and `calibration.safetensors` (the output
//! calibration).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use safetensors::tensor::{Dtype, SafeTensors, View};

use super::state::TrainState;
use super::{read_file, ModelDirError, CHECKPOINT_FILE, FORMAT_VERSION};
use crate::calibration::{Calibration, KNOTS};
use crate::detail::SpectralDetail;
use crate::vae::layer::ParamMut;
use crate::vae::stack::Stack;
use crate::vae::{AdamState, Vae, VaeConfig};

/// An `f32` slice as the `safetensors` crate's serialiser sees it: the little-endian bytes are
/// made when the tensor is written, so at most one tensor is copied at a time (a 410 MB
/// checkpoint is never assembled in memory).
struct F32View<'a> {
    shape: Vec<usize>,
    data: &'a [f32],
}

impl View for F32View<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.data.iter().flat_map(|v| v.to_le_bytes()).collect())
    }

    fn data_len(&self) -> usize {
        self.data.len() * 4
    }
}

/// Write a safetensors file (all tensors F32) with the `safetensors` crate's
/// `serialize_to_file`, atomically (a temporary name, synced, renamed).
fn write_safetensors(
    path: &Path,
    tensors: &[(String, Vec<usize>, &[f32])],
    meta: &HashMap<String, String>,
) -> anyhow::Result<()> {
    for (name, shape, data) in tensors {
        anyhow::ensure!(
            shape.iter().product::<usize>() == data.len(),
            "tensor {name}: shape {shape:?} for {} values",
            data.len()
        );
    }
    let views = tensors.iter().map(|(name, shape, data)| {
        let view = F32View {
            shape: shape.clone(),
            data,
        };
        (name.as_str(), view)
    });
    let meta = Some(meta.clone());
    dsp::atomic::write_atomically_at(path, |tmp| {
        safetensors::serialize_to_file(views, &meta, tmp).map_err(std::io::Error::other)?;
        sort_header_in_place(tmp)
    })?;
    Ok(())
}

/// Rewrite a safetensors file's JSON header with its keys sorted, in place. The crate writes
/// the metadata map in `HashMap` order, which differs from run to run, so two identical
/// trainings wrote files differing in their header; `serde_json`'s own map is sorted. The
/// sorted header has the same keys and values, hence the same length, and the tensor offsets
/// in it are relative to the data that follows, so the data stays where it is.
fn sort_header_in_place(file: &Path) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(file)?;
    let mut n = [0u8; 8];
    f.read_exact(&mut n)?;
    let n = u64::from_le_bytes(n);
    let len = f.metadata()?.len();
    if n > len.saturating_sub(8) {
        return Err(std::io::Error::other(
            "safetensors header longer than the file",
        ));
    }
    let mut header = vec![0u8; n as usize];
    f.read_exact(&mut header)?;
    let value: serde_json::Value =
        serde_json::from_slice(&header).map_err(std::io::Error::other)?;
    let mut sorted = serde_json::to_vec(&value).map_err(std::io::Error::other)?;
    if sorted.len() > header.len() {
        return Err(std::io::Error::other("sorted safetensors header grew"));
    }
    sorted.resize(header.len(), b' ');
    f.seek(SeekFrom::Start(8))?;
    f.write_all(&sorted)
}

fn read_f32(
    st: &SafeTensors,
    name: &str,
    shape: &[usize],
    file: &Path,
) -> anyhow::Result<Vec<f32>> {
    let t = st
        .tensor(name)
        .map_err(|_| anyhow::anyhow!("{}: tensor {name} is missing", file.display()))?;
    if t.dtype() != Dtype::F32 || t.shape() != shape {
        anyhow::bail!(
            "{}: tensor {name} is {:?} {:?}, expected F32 {:?}",
            file.display(),
            t.dtype(),
            t.shape(),
            shape
        );
    }
    Ok(t.data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

fn weight_tensors(vae: &Vae) -> Vec<(String, Vec<usize>, &[f32])> {
    let mut out = Vec::new();
    vae.visit(&mut |name, p| out.push((name, p.shape, p.value)));
    out
}

/// Write the weights as `path` (atomically).
pub fn save_weights(path: &Path, vae: &Vae) -> anyhow::Result<()> {
    let meta = HashMap::from([
        ("format".to_string(), "beatgen-vae".to_string()),
        ("format_version".to_string(), FORMAT_VERSION.to_string()),
    ]);
    write_safetensors(path, &weight_tensors(vae), &meta)
}

/// Load the weights in `path` into a network of the configured shape (built with zero weights,
/// so nothing is random-initialised only to be overwritten).
pub fn load_weights(path: &Path, cfg: &VaeConfig) -> anyhow::Result<Vae> {
    let bytes = read_file(path)?;
    let st = parse(&bytes, path)?;
    let mut vae = Vae::zeros(cfg.clone())
        .with_context(|| format!("{}: the declared network", path.display()))?;
    load_weights_into(&st, &mut vae, path)?;
    Ok(vae)
}

fn load_weights_into(st: &SafeTensors, vae: &mut Vae, file: &Path) -> anyhow::Result<()> {
    let specs: Vec<(String, Vec<usize>)> = weight_tensors(vae)
        .into_iter()
        .map(|(n, s, _)| (n, s))
        .collect();
    copy_into(st, file, &specs, |f| vae.visit_mut(f))
}

/// Read the tensors `specs` (name, shape) of `st` (from `file`) and copy them, in order, into
/// the parameters `visit_mut` visits.
fn copy_into(
    st: &SafeTensors,
    file: &Path,
    specs: &[(String, Vec<usize>)],
    visit_mut: impl FnOnce(&mut dyn FnMut(ParamMut<'_>)),
) -> anyhow::Result<()> {
    let values = specs
        .iter()
        .map(|(name, shape)| read_f32(st, name, shape, file))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut i = 0;
    visit_mut(&mut |p| {
        p.value.copy_from_slice(&values[i]);
        i += 1;
    });
    Ok(())
}

/// Write the parameters of `stack` as `path` (atomically), named `{prefix}.{layer}.weight` and
/// `.bias`, with `format` in the file's metadata.
pub fn save_stack(path: &Path, stack: &Stack, prefix: &str, format: &str) -> anyhow::Result<()> {
    let mut tensors = Vec::new();
    stack.visit(prefix, &mut |name, p| {
        tensors.push((name, p.shape, p.value))
    });
    let meta = HashMap::from([("format".to_string(), format.to_string())]);
    write_safetensors(path, &tensors, &meta)
}

/// Load the parameters of `stack` (named as by [`save_stack`]) from the safetensors `bytes`
/// of `source` (for messages).
pub fn load_stack(
    bytes: &[u8],
    source: &Path,
    stack: &mut Stack,
    prefix: &str,
) -> anyhow::Result<()> {
    let st = parse(bytes, source)?;
    let mut specs = Vec::new();
    stack.visit(prefix, &mut |name, p| specs.push((name, p.shape)));
    copy_into(&st, source, &specs, |f| stack.visit_mut(f))
}

fn parse<'a>(bytes: &'a [u8], path: &Path) -> anyhow::Result<SafeTensors<'a>> {
    SafeTensors::deserialize(bytes)
        .map_err(|e| anyhow::anyhow!("{}: not a valid safetensors file ({e:?})", path.display()))
}

/// Write the output calibration as `path` (atomically): tensors `source` and `target`, each
/// `[genres, bands, KNOTS]`, and `postfilter`, `[genres]` (see [`crate::calibration`]).
pub fn save_calibration(path: &Path, cal: &Calibration) -> anyhow::Result<()> {
    let shape = vec![cal.genres, cal.bands, KNOTS];
    let meta = HashMap::from([
        ("format".to_string(), "beatgen-calibration".to_string()),
        ("format_version".to_string(), FORMAT_VERSION.to_string()),
    ]);
    let mut tensors = vec![
        ("source".to_string(), shape.clone(), &cal.source[..]),
        ("target".to_string(), shape, &cal.target[..]),
    ];
    if let Some(s) = &cal.postfilter {
        tensors.push(("postfilter".to_string(), vec![cal.genres], &s[..]));
    }
    write_safetensors(path, &tensors, &meta)
}

/// Read the output calibration in `path` for a model of `genres` genres and `bands` bands.
/// A file written before the postfilter strengths were fitted has none (`postfilter` is `None`).
pub fn load_calibration(path: &Path, genres: usize, bands: usize) -> anyhow::Result<Calibration> {
    let bytes = read_file(path)?;
    let st = parse(&bytes, path)?;
    let shape = [genres, bands, KNOTS];
    let source = read_f32(&st, "source", &shape, path)?;
    let target = read_f32(&st, "target", &shape, path)?;
    let postfilter = match st.tensor("postfilter") {
        Ok(_) => Some(read_f32(&st, "postfilter", &[genres], path)?),
        Err(_) => None,
    };
    anyhow::ensure!(
        postfilter
            .iter()
            .flatten()
            .all(|s| (0.0..=crate::postfilter::MAX_STRENGTH).contains(s)),
        "{}: a postfilter strength is outside 0..={}",
        path.display(),
        crate::postfilter::MAX_STRENGTH
    );
    anyhow::ensure!(
        source
            .chunks(KNOTS)
            .all(|k| k.windows(2).all(|w| w[0] <= w[1])),
        "{}: the source levels are not in increasing order",
        path.display()
    );
    Ok(Calibration {
        genres,
        bands,
        source,
        target,
        postfilter,
    })
}

/// Write the spectral detail as `path` (atomically): tensor `weights`, `[bands + 1, bins]`
/// (see [`crate::detail`]).
pub fn save_detail(path: &Path, detail: &SpectralDetail) -> anyhow::Result<()> {
    let meta = HashMap::from([
        ("format".to_string(), "beatgen-detail".to_string()),
        ("format_version".to_string(), FORMAT_VERSION.to_string()),
    ]);
    let shape = vec![detail.weights.nrows(), detail.weights.ncols()];
    let data = detail.weights.as_standard_layout();
    let data = data.as_slice().expect("standard layout");
    write_safetensors(path, &[("weights".to_string(), shape, data)], &meta)
}

/// Read the spectral detail in `path` for a model of `bands` bands and `bins` STFT bins; a
/// value that is not finite is refused with the file named.
pub fn load_detail(path: &Path, bands: usize, bins: usize) -> anyhow::Result<SpectralDetail> {
    let bytes = read_file(path)?;
    let st = parse(&bytes, path)?;
    let w = read_f32(&st, "weights", &[bands + 1, bins], path)?;
    anyhow::ensure!(
        w.iter().all(|v| v.is_finite()),
        "{}: the spectral detail holds a value that is not finite",
        path.display()
    );
    Ok(SpectralDetail {
        weights: ndarray::Array2::from_shape_vec((bands + 1, bins), w)?,
    })
}

/// Save the resumable checkpoint: last weights, Adam moments and the training state.
pub fn save_checkpoint(
    dir: &Path,
    vae: &Vae,
    adam: &AdamState,
    state: &TrainState,
) -> anyhow::Result<()> {
    let mut tensors = weight_tensors(vae);
    let names: Vec<(String, Vec<usize>)> = tensors
        .iter()
        .map(|(n, s, _)| (n.clone(), s.clone()))
        .collect();
    for (i, (name, shape)) in names.iter().enumerate() {
        tensors.push((format!("{name}.exp_avg"), shape.clone(), &adam.m[i]));
        tensors.push((format!("{name}.exp_avg_sq"), shape.clone(), &adam.v[i]));
    }
    let meta = HashMap::from([
        ("format_version".to_string(), FORMAT_VERSION.to_string()),
        ("adam_step".to_string(), adam.step.to_string()),
        ("train_state".to_string(), serde_json::to_string(state)?),
    ]);
    write_safetensors(&dir.join(CHECKPOINT_FILE), &tensors, &meta)
}

/// The training state in a checkpoint's header, reading only the header (not the weights).
pub fn read_train_state(path: &Path) -> anyhow::Result<TrainState> {
    use std::io::Read;
    let mut f =
        std::fs::File::open(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len).with_context(|| {
        format!(
            "{}: not a valid safetensors file (too short)",
            path.display()
        )
    })?;
    let len = u64::from_le_bytes(len);
    anyhow::ensure!(
        len <= MAX_HEADER,
        "{}: not a valid safetensors file (header of {len} bytes)",
        path.display()
    );
    let mut header = vec![0u8; len as usize];
    f.read_exact(&mut header).with_context(|| {
        format!(
            "{}: not a valid safetensors file (header cut short)",
            path.display()
        )
    })?;
    let header: serde_json::Value = serde_json::from_slice(&header)
        .with_context(|| format!("{}: not a valid safetensors file (header)", path.display()))?;
    let meta: HashMap<String, String> =
        serde_json::from_value(header.get("__metadata__").cloned().unwrap_or_default())
            .unwrap_or_default();
    train_state_of(&meta, path)
}

/// Largest header accepted (the reference implementation's limit).
const MAX_HEADER: u64 = 100_000_000;

/// Check the format version in a checkpoint's metadata and read its training state.
fn train_state_of(meta: &HashMap<String, String>, path: &Path) -> anyhow::Result<TrainState> {
    let version = meta
        .get("format_version")
        .and_then(|v| v.parse::<u64>().ok());
    if version != Some(FORMAT_VERSION as u64) {
        return Err(ModelDirError::OtherVersion {
            path: path.to_path_buf(),
            found: version,
        }
        .into());
    }
    serde_json::from_str(
        meta.get("train_state")
            .ok_or_else(|| anyhow::anyhow!("{}: no training state", path.display()))?,
    )
    .with_context(|| format!("{}: bad training state", path.display()))
}

/// Load the checkpoint into a network of the configured shape.
pub fn load_checkpoint(
    dir: &Path,
    cfg: &VaeConfig,
) -> anyhow::Result<(Vae, AdamState, TrainState)> {
    let path = dir.join(CHECKPOINT_FILE);
    let bytes = read_file(&path)?;
    let st = parse(&bytes, &path)?;
    let (_, md) = SafeTensors::read_metadata(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: bad header ({e:?})", path.display()))?;
    let meta = md.metadata().clone().unwrap_or_default();
    let state = train_state_of(&meta, &path)?;
    let mut vae = Vae::zeros(cfg.clone())?;
    load_weights_into(&st, &mut vae, &path)?;
    let mut adam = AdamState::new(&vae);
    let names: Vec<(String, Vec<usize>)> = weight_tensors(&vae)
        .into_iter()
        .map(|(n, s, _)| (n, s))
        .collect();
    for (i, (name, shape)) in names.iter().enumerate() {
        adam.m[i] = read_f32(&st, &format!("{name}.exp_avg"), shape, &path)?;
        adam.v[i] = read_f32(&st, &format!("{name}.exp_avg_sq"), shape, &path)?;
    }
    adam.step = meta
        .get("adam_step")
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("{}: no adam_step", path.display()))?;
    Ok((vae, adam, state))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calibration() -> Calibration {
        let mut cal = Calibration::new(2);
        let clip = vec![vec![0.0f32, 1.0, 2.0, 3.0]];
        cal.push_genre(&clip, &clip);
        cal.push_genre(&clip, &clip);
        cal.postfilter = Some(vec![0.75, 1.5]);
        cal
    }

    /// The calibration comes back as written, strengths included; a file from before the
    /// strengths were fitted loads with the postfilter off, and a strength out of range is
    /// refused with the file named.
    #[test]
    fn calibration_round_trip_and_files_without_strengths() {
        let dir = std::env::temp_dir().join(format!("beatgen-cal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("calibration.safetensors");
        let cal = calibration();
        save_calibration(&path, &cal).unwrap();
        assert_eq!(load_calibration(&path, 2, 2).unwrap(), cal);

        let shape = vec![2, 2, KNOTS];
        let old = [
            ("source".to_string(), shape.clone(), &cal.source[..]),
            ("target".to_string(), shape.clone(), &cal.target[..]),
        ];
        write_safetensors(&path, &old, &HashMap::new()).unwrap();
        let loaded = load_calibration(&path, 2, 2).unwrap();
        assert_eq!(loaded.postfilter, None);
        assert_eq!(loaded.postfilter_strength(&[1.0, 0.0]), 0.0);
        assert_eq!(loaded.source, cal.source);

        let bad = [0.5f32, 9.0];
        let tensors = [
            old[0].clone(),
            old[1].clone(),
            ("postfilter".to_string(), vec![2], &bad[..]),
        ];
        write_safetensors(&path, &tensors, &HashMap::new()).unwrap();
        let err = load_calibration(&path, 2, 2).unwrap_err().to_string();
        assert!(
            err.contains("calibration.safetensors") && err.contains("postfilter strength"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The spectral detail comes back as written; a wrong shape or a value that is not finite
    /// is refused with the file named.
    #[test]
    fn detail_round_trip_and_bad_files() {
        let dir = std::env::temp_dir().join(format!("beatgen-detail-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("detail.safetensors");
        let detail = SpectralDetail {
            weights: ndarray::Array2::from_shape_fn((3, 5), |(i, j)| i as f32 - 0.5 * j as f32),
        };
        save_detail(&path, &detail).unwrap();
        assert_eq!(load_detail(&path, 2, 5).unwrap(), detail);
        let err = load_detail(&path, 3, 5).unwrap_err().to_string();
        assert!(
            err.contains("detail.safetensors") && err.contains("weights"),
            "{err}"
        );
        let nan = [f32::NAN; 15];
        write_safetensors(
            &path,
            &[("weights".to_string(), vec![3, 5], &nan[..])],
            &HashMap::new(),
        )
        .unwrap();
        let err = load_detail(&path, 2, 5).unwrap_err().to_string();
        assert!(
            err.contains("detail.safetensors") && err.contains("not finite"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Two files of the same tensors and metadata are the same bytes, whatever order the
    /// metadata map iterates in (the crate writes it in `HashMap` order), and read back.
    #[test]
    fn identical_contents_give_identical_files() {
        let dir = std::env::temp_dir().join(format!("beatgen-sorted-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
        let tensors = [
            ("b".to_string(), vec![3, 2], &data[..6]),
            ("a".to_string(), vec![6], &data[6..]),
        ];
        let keys: Vec<String> = (0..40).map(|i| format!("key{i:02}")).collect();
        let forward: HashMap<String, String> =
            keys.iter().map(|k| (k.clone(), format!("v{k}"))).collect();
        let backward: HashMap<String, String> = keys
            .iter()
            .rev()
            .map(|k| (k.clone(), format!("v{k}")))
            .collect();
        let (p1, p2) = (dir.join("one.safetensors"), dir.join("two.safetensors"));
        write_safetensors(&p1, &tensors, &forward).unwrap();
        write_safetensors(&p2, &tensors, &backward).unwrap();
        let (b1, b2) = (std::fs::read(&p1).unwrap(), std::fs::read(&p2).unwrap());
        assert!(b1 == b2, "the two files differ");
        let st = SafeTensors::deserialize(&b1).unwrap();
        assert_eq!(read_f32(&st, "b", &[3, 2], &p1).unwrap(), &data[..6]);
        assert_eq!(read_f32(&st, "a", &[6], &p1).unwrap(), &data[6..]);
        let (_, md) = SafeTensors::read_metadata(&b1).unwrap();
        assert_eq!(md.metadata().clone().unwrap(), forward);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
