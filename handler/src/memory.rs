//! An in-memory `TransactionStore` with the same decision rule as the DynamoDB one, for
//! tests and local runs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::store::{refused, Outcome, StoreError, TransactionStore};
use crate::transaction::Transaction;

#[derive(Debug, Default)]
pub struct MemoryStore {
    /// transactionId → (order key, record). The mutex makes check-and-write atomic, as
    /// DynamoDB's condition expression does.
    records: Mutex<HashMap<String, (String, Transaction)>>,
    writes: AtomicUsize,
}

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    pub fn get(&self, id: &str) -> Option<Transaction> {
        self.records
            .lock()
            .expect("store lock poisoned")
            .get(id)
            .map(|(_, tx)| tx.clone())
    }

    /// How many writes succeeded (a redelivery or a stale event must not add one).
    pub fn writes(&self) -> usize {
        self.writes.load(Ordering::SeqCst)
    }
}

impl TransactionStore for MemoryStore {
    async fn record(&self, tx: &Transaction) -> Result<Outcome, StoreError> {
        let key = tx.order_key();
        let mut records = self.records.lock().expect("store lock poisoned");
        if let Some((stored, _)) = records.get(&tx.id) {
            if *stored >= key {
                return refused(stored, &key);
            }
        }
        records.insert(tx.id.clone(), (key, tx.clone()));
        self.writes.fetch_add(1, Ordering::SeqCst);
        Ok(Outcome::Recorded)
    }
}
