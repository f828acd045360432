//! Surjective (or any other) layers placed into a standard flow stack by the `[flow]`
//! section: `[[flow.surjective]]` entries, each a [`TransformSpec`] table (its `type` and
//! keys, see docs/SURJECTIVE.md) plus where it sits (`at`).
//!
//! Placement rule (one stack, data → latent):
//!
//! ```text
//! domain layer ([data] domains) → at = "data" layers → standardisation
//!   → at = 0 layers → block 0 → at = 1 layers → block 1 → … → at = blocks layers → base
//! ```
//!
//! * `at = "data"` (the default): on the data in its own units, after the domain maps
//!   and before the standardisation, which `fit` then fits on these layers' output.
//!   This is where layers that rely on the data's own coordinates go: `abs` (symmetry
//!   about 0), `uniform_dequantize` (integers), `max_pool2d` (maxima of raw pixels),
//!   `sort`.
//! * `at = k` (0 ≤ k ≤ blocks): after the standardisation, before block `k` (`blocks` =
//!   after the last one). Layers that change the width here (`augment`, `slice`) make
//!   the following blocks and the base that wide.
//!
//! Keys the position decides need not be written: a missing `dim` is the width at that
//! place, a missing `seed` is `[flow] seed + 1000·(entry + 1)`. Any key the layer does
//! not know is an error naming the entry. The list is open: every [`TransformSpec`]
//! variant (new surjections included) is accepted by its `type` name, with no list of
//! names here.
//!
//! ```
//! use flowinfer::flow::{Place, PlacedLayer};
//! let l: PlacedLayer = toml::from_str("type = \"abs\"\nlearned = true\nat = \"data\"")?;
//! assert_eq!(l.at, Place::Data);
//! let spec = l.resolve(2, 0, 7)?;
//! assert_eq!((spec.dim(), spec.output_dim()), (2, 2));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::error::{Error, Result};
use crate::transforms::TransformSpec;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Where a placed layer sits in the stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Place {
    /// On the data, before the standardisation (`at = "data"`).
    #[default]
    Data,
    /// After the standardisation, before block `k` (`at = k`; `blocks` = after the last).
    Block(usize),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Data => write!(f, "at = \"data\""),
            Place::Block(k) => write!(f, "at = {k}"),
        }
    }
}

/// One `[[flow.surjective]]` entry: a layer description and its place.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedLayer {
    /// Where the layer sits.
    pub at: Place,
    /// The layer's keys as written (`type` and the [`TransformSpec`] fields).
    pub layer: Map<String, Value>,
}

impl PlacedLayer {
    /// An entry from a layer's keys (a JSON object with its `type`) and its place.
    ///
    /// ```
    /// use flowinfer::flow::{Place, PlacedLayer};
    /// let l = PlacedLayer::new(Place::Block(0), serde_json::json!({"type": "augment",
    ///     "extra": 2, "model": {"kind": "standard_normal"}}))?;
    /// assert_eq!(l.resolve(2, 0, 0)?.output_dim(), 4);
    /// # Ok::<(), flowinfer::Error>(())
    /// ```
    pub fn new(at: Place, layer: Value) -> Result<Self> {
        match layer {
            Value::Object(m) if m.get("type").is_some_and(Value::is_string) => {
                Ok(Self { at, layer: m })
            }
            other => Err(Error::config(format!(
                "[flow] surjective layer: expected a table with a `type` key, got {other}"
            ))),
        }
    }

    /// The layer's `type` name.
    pub fn kind(&self) -> &str {
        self.layer
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or("?")
    }

    /// The transform this entry describes when it receives `width` features; `index` is
    /// its position in the `[flow] surjective` list and `seed` the `[flow]` seed (both
    /// for the defaults and the messages).
    pub fn resolve(&self, width: usize, index: usize, seed: u64) -> Result<TransformSpec> {
        let name = format!(
            "[flow] surjective[{index}] (type = \"{}\", {})",
            self.kind(),
            self.at
        );
        let mut keys = self.layer.clone();
        let spec = loop {
            match serde_json::from_value::<TransformSpec>(Value::Object(keys.clone())) {
                Ok(s) => break s,
                Err(e) => {
                    let msg = e.to_string();
                    if msg.contains("missing field `dim`") && !keys.contains_key("dim") {
                        keys.insert("dim".into(), width.into());
                    } else if msg.contains("missing field `seed`") && !keys.contains_key("seed") {
                        let s = seed.wrapping_add(1000 * (index as u64 + 1));
                        keys.insert("seed".into(), s.into());
                    } else {
                        let given: Vec<&str> = self.layer.keys().map(String::as_str).collect();
                        return Err(Error::config(format!(
                            "{name}: {msg} (keys given: {})",
                            given.join(", ")
                        )));
                    }
                }
            }
        };
        let written = serde_json::to_value(&spec)?;
        if let Some(unknown) = self
            .layer
            .keys()
            .find(|k| written.get(k.as_str()).is_none())
        {
            let known: Vec<&String> = written
                .as_object()
                .map(|o| o.keys().collect())
                .unwrap_or_default();
            return Err(Error::config(format!(
                "{name}: unknown key `{unknown}` (this layer's keys: at, {})",
                known
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if spec.dim() != width {
            return Err(Error::config(format!(
                "{name} expects {} features but receives {width} there",
                spec.dim()
            )));
        }
        if spec.output_dim() == 0 {
            return Err(Error::config(format!("{name} outputs no features")));
        }
        Ok(spec)
    }
}

impl Serialize for PlacedLayer {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = self.layer.clone();
        m.insert(
            "at".into(),
            match self.at {
                Place::Data => Value::from("data"),
                Place::Block(k) => Value::from(k),
            },
        );
        m.serialize(s)
    }
}

impl<'de> Deserialize<'de> for PlacedLayer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let mut m = Map::<String, Value>::deserialize(d)?;
        let at = match m.remove("at") {
            None => Place::Data,
            Some(Value::String(s)) if s == "data" => Place::Data,
            Some(v) => match v.as_u64() {
                Some(k) => Place::Block(k as usize),
                None => {
                    return Err(D::Error::custom(format!(
                        "surjective layer: `at` must be \"data\" or a block index 0, 1, …, got {v}"
                    )))
                }
            },
        };
        PlacedLayer::new(at, Value::Object(m)).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_unknown_keys_and_widths() {
        let l: PlacedLayer = toml::from_str("type = \"sort\"").unwrap();
        assert_eq!(l.at, Place::Data);
        let s = l.resolve(3, 1, 5).unwrap();
        assert_eq!(s, TransformSpec::Sort { dim: 3, seed: 2005 });
        let l: PlacedLayer = toml::from_str("type = \"abs\"\nlernd = true\nat = 2").unwrap();
        assert_eq!(l.at, Place::Block(2));
        let e = l.resolve(2, 0, 0).unwrap_err().to_string();
        assert!(e.contains("surjective[0]") && e.contains("lernd"), "{e}");
        let l: PlacedLayer =
            toml::from_str("type = \"max_pool2d\"\nheight = 8\nwidth = 8\nblock = 2").unwrap();
        let e = l.resolve(16, 3, 0).unwrap_err().to_string();
        assert!(
            e.contains("surjective[3]") && e.contains("64") && e.contains("16"),
            "{e}"
        );
        assert!(toml::from_str::<PlacedLayer>("type = \"abs\"\nat = \"end\"").is_err());
        let e = toml::from_str::<PlacedLayer>("type = \"nope\"")
            .unwrap()
            .resolve(2, 0, 0)
            .unwrap_err()
            .to_string();
        assert!(e.contains("nope"), "{e}");
        // round trip through the config's own serialisation
        let back: PlacedLayer = serde_json::from_value(serde_json::to_value(&l).unwrap()).unwrap();
        assert_eq!(back, l);
    }
}
