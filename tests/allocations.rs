//! The number of heap allocations per settled claim, pinned. Scratch memory is reused per
//! thread, so after the first claim a claim allocates its input values and its settlement and
//! little else. A change that allocates more fails here; one that allocates less should lower
//! the pinned figure (the message prints the new count).

use rulec::api::{EvalOptions, Ruleset};
use rulec::limits::Limits;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts allocations made on a thread while that thread's counter is on.
struct Counting;

thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

fn bump() {
    // `try_with`: thread-local storage may be gone while a thread shuts down.
    let _ = ON.try_with(|on| {
        if on.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        bump();
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        bump();
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        bump();
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Allocations made by `f` on this thread.
fn count(f: impl FnOnce()) -> u64 {
    COUNT.with(|c| c.set(0));
    ON.with(|on| on.set(true));
    f();
    ON.with(|on| on.set(false));
    COUNT.with(|c| c.get())
}

fn claim(path: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("claim")).expect("claim JSON")
}

/// Settles `claim` a few times to warm the thread's scratch and the epoch cache, then counts
/// one more settlement (evaluation only, and evaluation plus the settlement JSON).
fn per_claim(rs: &Ruleset, claim: &serde_json::Value) -> (u64, u64) {
    let opts = EvalOptions::default();
    for _ in 0..3 {
        rs.evaluate(claim, &opts).expect("settles");
    }
    let eval = count(|| {
        let s = rs.evaluate(claim, &opts).expect("settles");
        drop(s);
    });
    let with_json = count(|| {
        let s = rs.evaluate(claim, &opts).expect("settles");
        let j = rs.settlement_json(&s);
        drop(j);
    });
    (eval, with_json)
}

/// The same through the byte path of `--batch`: decode straight from the JSON text, settle,
/// write the settlement into a reused buffer.
fn per_claim_bytes(rs: &Ruleset, text: &[u8]) -> u64 {
    let opts = EvalOptions::default();
    let mut out = Vec::with_capacity(4096);
    for _ in 0..3 {
        out.clear();
        let s = rs.evaluate_bytes(text, &opts).expect("settles");
        rs.write_settlement(&s, &mut out);
    }
    count(|| {
        out.clear();
        let s = rs.evaluate_bytes(text, &opts).expect("settles");
        rs.write_settlement(&s, &mut out);
        drop(s);
    })
}

fn assert_pinned(what: &str, got: u64, pinned: u64) {
    assert!(
        got <= pinned,
        "{what}: {got} allocations per claim, more than the {pinned} pinned"
    );
    eprintln!("{what}: {got} allocations per claim (pinned at most {pinned})");
}

#[test]
fn sample_outpatient_claim() {
    let rs = Ruleset::load_dir("rulesets/sample/city", Limits::default()).expect("load");
    let c = claim("rulesets/sample/claims/outpatient.json");
    let (eval, json) = per_claim(&rs, &c);
    assert_pinned("sample/city, 4 items, evaluate", eval, PIN_SAMPLE_EVAL);
    assert_pinned(
        "sample/city, 4 items, evaluate + settlement JSON",
        json,
        PIN_SAMPLE_JSON,
    );
    let text = std::fs::read("rulesets/sample/claims/outpatient.json").expect("claim");
    let bytes = per_claim_bytes(&rs, &text);
    assert_pinned(
        "sample/city, 4 items, bytes in, settlement bytes out",
        bytes,
        PIN_SAMPLE_BYTES,
    );
}

#[test]
fn allocations_do_not_grow_with_repetition() {
    // The thread's scratch is reused: the hundredth claim allocates what the fourth did.
    let rs = Ruleset::load_dir("rulesets/sample/city", Limits::default()).expect("load");
    let c = claim("rulesets/sample/claims/outpatient.json");
    let (first, _) = per_claim(&rs, &c);
    for _ in 0..100 {
        rs.evaluate(&c, &EvalOptions::default()).expect("settles");
    }
    let (later, _) = per_claim(&rs, &c);
    assert_eq!(first, later);
}

const PIN_SAMPLE_EVAL: u64 = 83;
const PIN_SAMPLE_JSON: u64 = 148;
const PIN_SAMPLE_BYTES: u64 = 72;
