//! A batch's charges grouped into the counters' atomic writes.
//!
//! Many requests of a batch add to the same counter. Written one transaction per request, and
//! several at once, they contend for that counter's item: DynamoDB cancels a transaction that
//! touches an item another transaction is writing (`TransactionConflict`). So a batch is counted
//! in chunks, one transaction each, one chunk after another: each request's marker (a put only
//! when absent) and ONE addition per counter, its requests' costs summed. A transaction holds at
//! most [`MAX_TRANSACTION_ITEMS`] items and names each item once, so a request id appears once in
//! a chunk and once in a batch.

use crate::usage::meter::{Charge, Counter, CounterKey};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Items in one DynamoDB `TransactWriteItems`, at most.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// One counter's share of a chunk: what its requests add.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CounterAdd {
    pub key: CounterKey,
    /// USD, the sum of the chunk's requests that count against it.
    #[serde(with = "rust_decimal::serde::str")]
    pub cost: Decimal,
    pub requests: u64,
    /// Epoch seconds (DynamoDB TTL), the latest of its requests' counters.
    pub expires_at: i64,
}

/// Requests counted in one atomic write: all of them or none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Chunk {
    /// Distinct request ids, in the batch's order.
    pub charges: Vec<Charge>,
}

impl Chunk {
    /// One addition per counter the chunk's requests touch, in counter order.
    pub fn adds(&self) -> Vec<CounterAdd> {
        let mut adds: BTreeMap<&CounterKey, CounterAdd> = BTreeMap::new();
        for charge in &self.charges {
            for Counter { key, expires_at } in &charge.counters {
                let add = adds.entry(key).or_insert_with(|| CounterAdd {
                    key: key.clone(),
                    cost: Decimal::ZERO,
                    requests: 0,
                    expires_at: *expires_at,
                });
                add.cost += charge.cost;
                add.requests += 1;
                add.expires_at = add.expires_at.max(*expires_at);
            }
        }
        adds.into_values().collect()
    }

    /// The transaction's items: one marker per request and one addition per counter.
    pub fn items(&self) -> usize {
        self.charges.len() + self.counter_keys().len()
    }

    /// The chunk without the requests at these positions (found counted already).
    pub fn without(&self, positions: &BTreeSet<usize>) -> Chunk {
        Chunk {
            charges: self
                .charges
                .iter()
                .enumerate()
                .filter(|(i, _)| !positions.contains(i))
                .map(|(_, c)| c.clone())
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.charges.is_empty()
    }

    fn counter_keys(&self) -> BTreeSet<&CounterKey> {
        self.charges
            .iter()
            .flat_map(|c| c.counters.iter().map(|c| &c.key))
            .collect()
    }
}

/// A request that alone needs more items than one transaction holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "request {request_id} counts against {counters} budgets; a transaction holds at most {} besides it",
    MAX_TRANSACTION_ITEMS - 1
)]
pub struct TooManyCounters {
    pub request_id: String,
    pub counters: usize,
}

/// A batch's charges as chunks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunks {
    pub chunks: Vec<Chunk>,
    /// Request ids that appeared again in the same batch: counted by their first appearance.
    pub repeated: Vec<String>,
}

/// Groups charges into chunks of at most [`MAX_TRANSACTION_ITEMS`] items, in the batch's order,
/// each request id once.
pub fn chunk(charges: Vec<Charge>) -> Result<Chunks, TooManyCounters> {
    let mut out = Chunks::default();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut current = Chunk::default();
    for charge in charges {
        if !seen.insert(charge.request_id.clone()) {
            out.repeated.push(charge.request_id);
            continue;
        }
        if charge.counters.len() + 1 > MAX_TRANSACTION_ITEMS {
            return Err(TooManyCounters {
                request_id: charge.request_id,
                counters: charge.counters.len(),
            });
        }
        current.charges.push(charge);
        if current.items() > MAX_TRANSACTION_ITEMS {
            let overflow = current.charges.pop().expect("just pushed");
            out.chunks.push(std::mem::take(&mut current));
            current.charges.push(overflow);
        }
    }
    if !current.is_empty() {
        out.chunks.push(current);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::usage::charge;
    use rust_decimal_macros::dec;

    fn ids(chunk: &Chunk) -> Vec<&str> {
        chunk
            .charges
            .iter()
            .map(|c| c.request_id.as_str())
            .collect()
    }

    #[test]
    fn requests_of_one_counter_become_one_addition_of_their_sum() {
        let chunks = chunk(vec![
            charge("r1", dec!(0.25), &["bg-chatbot", "bg-all"]),
            charge("r2", dec!(0.0000325), &["bg-chatbot"]),
            charge("r3", dec!(1.5), &["bg-all"]),
        ])
        .unwrap();
        assert_eq!(chunks.chunks.len(), 1);
        let only = &chunks.chunks[0];
        assert_eq!(ids(only), ["r1", "r2", "r3"]);
        assert_eq!(only.items(), 5, "three markers and two counters");
        let adds = only.adds();
        assert_eq!(
            adds.iter()
                .map(|a| (a.key.budget.as_str(), a.cost, a.requests))
                .collect::<Vec<_>>(),
            [
                ("bg-all", dec!(1.75), 2),
                ("bg-chatbot", dec!(0.2500325), 2)
            ]
        );
        assert!(adds.iter().all(|a| a.expires_at == 1_798_000_000));
    }

    #[test]
    fn no_chunk_holds_more_than_a_transaction_and_none_is_split_needlessly() {
        // 250 requests of one counter: 99 markers and the counter, twice, then 52 and the counter.
        let charges: Vec<Charge> = (0..250)
            .map(|i| charge(&format!("r{i}"), dec!(0.01), &["bg-chatbot"]))
            .collect();
        let chunks = chunk(charges).unwrap();
        let sizes: Vec<usize> = chunks.chunks.iter().map(|c| c.charges.len()).collect();
        assert_eq!(sizes, [99, 99, 52]);
        assert!(
            chunks
                .chunks
                .iter()
                .all(|c| c.items() <= MAX_TRANSACTION_ITEMS)
        );
        assert_eq!(chunks.chunks[0].adds()[0].cost, dec!(0.99));
        assert_eq!(chunks.chunks[2].adds()[0].cost, dec!(0.52));
        // Every request once, in order.
        let all: Vec<&str> = chunks.chunks.iter().flat_map(ids).collect();
        assert_eq!(all.len(), 250);
        assert_eq!((all[0], all[99], all[249]), ("r0", "r99", "r249"));

        // A request touching a counter new to the chunk takes two items: the chunk closes
        // before it when only one is left.
        let mut charges: Vec<Charge> = (0..98)
            .map(|i| charge(&format!("a{i}"), dec!(0.01), &["bg-chatbot"]))
            .collect();
        charges.push(charge("b", dec!(0.01), &["bg-other"]));
        let chunks = chunk(charges).unwrap();
        assert_eq!(
            chunks.chunks.iter().map(Chunk::items).collect::<Vec<_>>(),
            [99, 2]
        );
    }

    #[test]
    fn a_request_repeated_in_a_batch_is_written_once() {
        let chunks = chunk(vec![
            charge("r1", dec!(0.5), &["bg-chatbot"]),
            charge("r2", dec!(0.5), &["bg-chatbot"]),
            charge("r1", dec!(0.5), &["bg-chatbot"]),
        ])
        .unwrap();
        assert_eq!(chunks.repeated, ["r1"]);
        assert_eq!(ids(&chunks.chunks[0]), ["r1", "r2"]);
        assert_eq!(chunks.chunks[0].adds()[0].cost, dec!(1.0));
    }

    #[test]
    fn dropping_counted_requests_leaves_the_others_sums() {
        let only = chunk(vec![
            charge("r1", dec!(0.25), &["bg-chatbot", "bg-all"]),
            charge("r2", dec!(0.5), &["bg-chatbot"]),
            charge("r3", dec!(1.5), &["bg-all"]),
        ])
        .unwrap()
        .chunks
        .remove(0);
        let rest = only.without(&BTreeSet::from([0]));
        assert_eq!(ids(&rest), ["r2", "r3"]);
        assert_eq!(
            rest.adds()
                .iter()
                .map(|a| (a.key.budget.as_str(), a.cost, a.requests))
                .collect::<Vec<_>>(),
            [("bg-all", dec!(1.5), 1), ("bg-chatbot", dec!(0.5), 1)]
        );
        assert!(only.without(&BTreeSet::from([0, 1, 2])).is_empty());
    }

    #[test]
    fn a_request_that_fills_no_transaction_alone_is_refused() {
        let budgets: Vec<String> = (0..100).map(|i| format!("bg-{i}")).collect();
        let names: Vec<&str> = budgets.iter().map(String::as_str).collect();
        let err = chunk(vec![charge("wide", dec!(1), &names)]).unwrap_err();
        assert_eq!(err.counters, 100);
        assert!(chunk(vec![charge("fits", dec!(1), &names[..99])]).is_ok());
    }
}
