// Compiled (not run) by bench/record.mjs while perf records rustc: generic-heavy std code gives the
// compiler deep, varied stacks (type checking, trait selection, MIR, LLVM codegen).
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::{self, Display, Write};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(u64);

#[derive(Debug, Clone)]
pub enum Msg<T: Clone> { Join(PeerId), Leave(PeerId), Gossip { from: PeerId, payload: T, hops: u8 }, Ack(u64) }

pub trait Codec<T> { fn encode(&self, v: &T) -> Vec<u8>; fn decode(&self, b: &[u8]) -> Option<T>; }

pub struct Json;
impl Codec<BTreeMap<String, u64>> for Json {
    fn encode(&self, v: &BTreeMap<String, u64>) -> Vec<u8> {
        let mut s = String::from("{");
        for (i, (k, n)) in v.iter().enumerate() { if i > 0 { s.push(','); } write!(s, "\"{}\":{}", k, n).unwrap(); }
        s.push('}');
        s.into_bytes()
    }
    fn decode(&self, b: &[u8]) -> Option<BTreeMap<String, u64>> {
        let s = std::str::from_utf8(b).ok()?;
        let inner = s.strip_prefix('{')?.strip_suffix('}')?;
        inner.split(',').filter(|p| !p.is_empty()).map(|p| { let mut it = p.splitn(2, ':'); let k = it.next()?.trim_matches('"').to_string(); let v = it.next()?.parse().ok()?; Some((k, v)) }).collect()
    }
}

pub struct Mesh<T: Clone + Display, C: Codec<T>> { peers: HashMap<PeerId, VecDeque<Msg<T>>>, seen: HashSet<u64>, codec: C, log: Vec<String> }

impl<T: Clone + Display, C: Codec<T>> Mesh<T, C> {
    pub fn new(codec: C) -> Self { Mesh { peers: HashMap::new(), seen: HashSet::new(), codec, log: Vec::new() } }
    pub fn join(&mut self, p: PeerId) { self.peers.entry(p.clone()).or_default().push_back(Msg::Join(p)); }
    pub fn broadcast(&mut self, from: PeerId, payload: T) -> usize {
        let ids: Vec<PeerId> = self.peers.keys().filter(|k| **k != from).cloned().collect();
        for id in &ids { self.peers.get_mut(id).unwrap().push_back(Msg::Gossip { from: from.clone(), payload: payload.clone(), hops: 0 }); }
        self.log.push(format!("{:?} -> {} peers: {}", from, ids.len(), payload));
        ids.len()
    }
    pub fn drain(&mut self) -> Vec<(PeerId, Vec<u8>)> where T: AsRef<str> {
        let mut out = Vec::new();
        for (id, q) in self.peers.iter_mut() {
            while let Some(m) = q.pop_front() {
                match m { Msg::Gossip { payload, hops, .. } if hops < 3 => out.push((id.clone(), payload.as_ref().as_bytes().to_vec())), Msg::Ack(n) => { self.seen.insert(n); } _ => {} }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.len().cmp(&b.1.len())));
        out
    }
    pub fn roundtrip(&self, v: &T) -> Option<T> { let b = self.codec.encode(v); self.codec.decode(&b) }
}

pub struct Table { rows: Vec<(String, f64, Option<u32>)> }
impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, x, o) in &self.rows { writeln!(f, "{:<20} {:>10.3} {:?}", n, x, o.map(|v| v * 2).unwrap_or_default())?; }
        Ok(())
    }
}

pub fn stats<I: IntoIterator<Item = f64>>(it: I) -> (f64, f64, f64) {
    let v: Vec<f64> = it.into_iter().collect();
    let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len().max(1) as f64;
    let mut s = v.clone(); s.sort_by(|a, b| a.partial_cmp(b).unwrap());
    (mean, var.sqrt(), s.get(s.len() / 2).copied().unwrap_or(0.0))
}

fn main() {
    let mut m: Mesh<String, Json2> = Mesh::new(Json2);
    for i in 0..64 { m.join(PeerId(i)); }
    let n: usize = (0..64).map(|i| m.broadcast(PeerId(i), format!("hello {}", i))).sum();
    let d = m.drain();
    let t = Table { rows: d.iter().take(10).map(|(p, b)| (format!("{:?}", p), b.len() as f64, Some(p.0 as u32))).collect() };
    let (a, b, c) = stats(d.iter().map(|x| x.1.len() as f64));
    let mut bm = BTreeMap::new(); bm.insert("x".to_string(), n as u64);
    println!("{}{} {} {} {:?} {:?}", t, a, b, c, Json.decode(&Json.encode(&bm)), m.roundtrip(&"s".to_string()));
}

pub struct Json2;
impl Codec<String> for Json2 {
    fn encode(&self, v: &String) -> Vec<u8> { format!("{:?}", v).into_bytes() }
    fn decode(&self, b: &[u8]) -> Option<String> { String::from_utf8(b.to_vec()).ok().map(|s| s.trim_matches('"').to_string()) }
}
