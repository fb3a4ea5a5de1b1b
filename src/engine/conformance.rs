//! A behavioural suite every [`Engine`] backend must pass. Each backend's
//! tests call [`run_all`] with a fresh instance, so a second backend (the
//! persistent-memory tier) is held to exactly the same contract.

use super::{Batch, Cf, Engine};

fn collect(
    e: &dyn Engine,
    cf: Cf,
    lower: Option<&[u8]>,
    upper: Option<&[u8]>,
    reverse: bool,
) -> Vec<Vec<u8>> {
    let mut it = e.iter(cf, lower, upper);
    let mut out = Vec::new();
    if reverse {
        it.seek_to_last();
    } else {
        it.seek_to_first();
    }
    while it.valid() {
        out.push(it.key().to_vec());
        if reverse {
            it.prev();
        } else {
            it.next();
        }
    }
    it.status().expect("iterator status");
    out
}

pub fn point_ops(e: &dyn Engine) {
    let mut b = Batch::new();
    b.put(Cf::Meta, b"a".to_vec(), b"1".to_vec());
    b.put(Cf::Data, b"a".to_vec(), b"data".to_vec());
    e.write(&b).expect("write");
    assert_eq!(e.get(Cf::Meta, b"a").expect("get"), Some(b"1".to_vec()));
    // Column families are separate namespaces.
    assert_eq!(e.get(Cf::Data, b"a").expect("get"), Some(b"data".to_vec()));
    assert_eq!(e.get(Cf::ZScore, b"a").expect("get"), None);
    let got = e.multi_get(Cf::Meta, &[b"a", b"zz"]).expect("multi_get");
    assert_eq!(got, vec![Some(b"1".to_vec()), None]);
    let mut b = Batch::new();
    b.delete(Cf::Meta, b"a".to_vec());
    e.write(&b).expect("write");
    assert_eq!(e.get(Cf::Meta, b"a").expect("get"), None);
}

pub fn batches_apply_in_order(e: &dyn Engine) {
    let mut b = Batch::new();
    b.put(Cf::State, b"k".to_vec(), b"first".to_vec());
    b.delete(Cf::State, b"k".to_vec());
    b.put(Cf::State, b"k".to_vec(), b"last".to_vec());
    e.write(&b).expect("write");
    assert_eq!(e.get(Cf::State, b"k").expect("get"), Some(b"last".to_vec()));
}

pub fn ordered_iteration_with_bounds(e: &dyn Engine) {
    let mut b = Batch::new();
    for k in [&b"b1"[..], b"b2", b"b3", b"c1", b"a9"] {
        b.put(Cf::Expire, k.to_vec(), Vec::new());
    }
    e.write(&b).expect("write");
    assert_eq!(
        collect(e, Cf::Expire, Some(b"b"), Some(b"c"), false),
        vec![b"b1".to_vec(), b"b2".to_vec(), b"b3".to_vec()]
    );
    assert_eq!(
        collect(e, Cf::Expire, Some(b"b"), Some(b"c"), true),
        vec![b"b3".to_vec(), b"b2".to_vec(), b"b1".to_vec()]
    );
    let mut it = e.iter(Cf::Expire, None, None);
    it.seek(b"b2");
    assert!(it.valid());
    assert_eq!(it.key(), b"b2");
    it.seek_for_prev(b"b9");
    assert_eq!(it.key(), b"b3");
}

pub fn delete_range(e: &dyn Engine) {
    let mut b = Batch::new();
    for k in [&b"r1"[..], b"r2", b"s1"] {
        b.put(Cf::Data, k.to_vec(), b"v".to_vec());
    }
    e.write(&b).expect("write");
    let mut b = Batch::new();
    b.delete_range(Cf::Data, b"r".to_vec(), b"s".to_vec());
    e.write(&b).expect("write");
    assert_eq!(
        collect(e, Cf::Data, Some(b"r"), Some(b"t"), false),
        vec![b"s1".to_vec()]
    );
}

pub fn run_all(e: &dyn Engine) {
    point_ops(e);
    batches_apply_in_order(e);
    ordered_iteration_with_bounds(e);
    delete_range(e);
    e.flush().expect("flush");
    e.sync_wal().expect("sync");
    // Everything written survives a flush to SST files.
    assert_eq!(e.get(Cf::State, b"k").expect("get"), Some(b"last".to_vec()));
}
