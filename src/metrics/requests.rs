//! Request counters by (decision, reason, route, status class), recorded without a lock or an
//! allocation: each route has a cell of atomic counters, and the cells of the routes of one
//! snapshot sit in a table indexed like `RouteTable::routes`, built once per generation (the
//! first request that sees a new generation builds it) and read through `arc-swap`.
//!
//! A cell is kept by route id across reloads, so a counter never goes backwards while its
//! route exists in some generation. Deny reasons are counted in a small array of slots claimed
//! on first use; the reasons one route sees are few, and a cell that runs out of slots counts
//! the rest under a mutex (cold). Cardinality is bounded by the policy: route ids and reason
//! codes only, never a key id, user or path.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};

use arc_swap::ArcSwap;

use crate::policy::Snapshot;
use crate::route::Route;

/// Deny reasons one cell counts without a lock.
const SLOTS: usize = 24;

/// What a request ended as, for the `decision` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Permitted and answered (by the upstream, a built-in endpoint or forward-auth).
    Allow,
    /// Refused with a 4xx.
    Deny,
    /// Failed with a 5xx (upstream failure, no policy, internal error).
    Error,
}

impl Decision {
    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::Error => "error",
        }
    }
}

/// One deny reason's counter: the key is claimed once, then only counted.
#[derive(Debug, Default)]
struct Slot {
    /// Reason code and status class (1..=5).
    key: OnceLock<(&'static str, u8)>,
    /// Requests.
    count: AtomicU64,
}

/// The counters of one route id (or of requests that matched no route).
#[derive(Debug)]
pub struct Cell {
    /// The route id; empty for requests that matched no route.
    pub id: Arc<str>,
    /// Allowed requests by status class (index 0 = 1xx ... 4 = 5xx).
    allowed: [AtomicU64; 5],
    /// Refused or failed requests by reason and status class.
    refused: [Slot; SLOTS],
    /// What did not fit in `refused` (rare: a route seeing more than `SLOTS` distinct reasons).
    overflow: Mutex<HashMap<(&'static str, u8), u64>>,
}

impl Cell {
    fn new(id: Arc<str>) -> Self {
        Self {
            id,
            allowed: Default::default(),
            refused: Default::default(),
            overflow: Mutex::default(),
        }
    }

    fn allowed(&self, class: u8) {
        let i = usize::from(class.clamp(1, 5) - 1);
        self.allowed[i].fetch_add(1, Relaxed);
    }

    fn refused(&self, reason: &'static str, class: u8) {
        let key = (reason, class);
        for slot in &self.refused {
            let claimed = *slot.key.get_or_init(|| key);
            if claimed == key {
                slot.count.fetch_add(1, Relaxed);
                return;
            }
        }
        let mut overflow = self.overflow.lock().unwrap_or_else(|p| p.into_inner());
        *overflow.entry(key).or_default() += 1;
    }

    /// Every non-zero counter: (decision, reason, status class, count).
    pub fn read(&self) -> Vec<(Decision, &'static str, u8, u64)> {
        let mut out = Vec::new();
        for (i, c) in self.allowed.iter().enumerate() {
            let n = c.load(Relaxed);
            if n > 0 {
                out.push((Decision::Allow, "", i as u8 + 1, n));
            }
        }
        let refused = self
            .refused
            .iter()
            .filter_map(|s| s.key.get().map(|k| (*k, s.count.load(Relaxed))));
        let overflow = self.overflow.lock().unwrap_or_else(|p| p.into_inner());
        for ((reason, class), n) in refused.chain(overflow.iter().map(|(k, n)| (*k, *n))) {
            if n > 0 {
                let d = if class == 5 {
                    Decision::Error
                } else {
                    Decision::Deny
                };
                out.push((d, reason, class, n));
            }
        }
        out
    }
}

/// The cells of one generation's routes, by route index.
#[derive(Debug, Default)]
struct Table {
    /// The snapshot generation it was built for.
    generation: u64,
    /// `cells[i]` counts `routes[i]`.
    cells: Vec<Arc<Cell>>,
}

/// Every request counter.
#[derive(Debug)]
pub struct Requests {
    /// The current generation's table.
    table: ArcSwap<Table>,
    /// Every cell ever made, by route id (held for rendering and rebuilding tables).
    by_id: Mutex<HashMap<Arc<str>, Arc<Cell>>>,
    /// Requests that matched no route.
    unrouted: Cell,
}

impl Default for Requests {
    fn default() -> Self {
        Self {
            table: ArcSwap::from_pointee(Table::default()),
            by_id: Mutex::default(),
            unrouted: Cell::new(Arc::from("")),
        }
    }
}

impl Requests {
    /// Count one request. `outcome` is `None` when allowed, else its reason code; `class` is the
    /// status class (1..=5).
    pub fn record(
        &self,
        s: Option<&Snapshot>,
        route: Option<&Route>,
        outcome: Option<&'static str>,
        class: u8,
    ) {
        let add = |cell: &Cell| match outcome {
            None => cell.allowed(class),
            Some(reason) => cell.refused(reason, class),
        };
        let (Some(s), Some(route)) = (s, route) else {
            return add(&self.unrouted);
        };
        let table = self.table.load();
        if table.generation == s.generation
            && let Some(cell) = table.cells.get(route.index)
        {
            return add(cell);
        }
        drop(table);
        add(&self.cell_slow(s, route));
    }

    /// A request from a generation that is not the current table's: build the table when the
    /// generation is newer, and find the cell by id under the lock.
    fn cell_slow(&self, s: &Snapshot, route: &Route) -> Arc<Cell> {
        let mut by_id = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        let mut cell_for = |id: &str| {
            Arc::clone(
                by_id
                    .entry(Arc::from(id))
                    .or_insert_with_key(|k| Arc::new(Cell::new(Arc::clone(k)))),
            )
        };
        if s.generation > self.table.load().generation {
            let cells = s.routes.routes.iter().map(|r| cell_for(&r.id)).collect();
            self.table.store(Arc::new(Table {
                generation: s.generation,
                cells,
            }));
        }
        cell_for(&route.id)
    }

    /// Every cell, the unrouted one first, then by route id.
    pub fn cells(&self) -> (&Cell, Vec<Arc<Cell>>) {
        let by_id = self.by_id.lock().unwrap_or_else(|p| p.into_inner());
        let mut cells: Vec<Arc<Cell>> = by_id.values().cloned().collect();
        cells.sort_by(|a, b| a.id.cmp(&b.id));
        (&self.unrouted, cells)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_counts_each_reason_and_class_apart_even_past_its_slots() {
        let cell = Cell::new(Arc::from("r"));
        cell.allowed(2);
        cell.allowed(2);
        cell.refused("permission_denied", 4);
        let codes: Vec<&'static str> = (0..SLOTS + 3)
            .map(|i| &*String::leak(format!("code_{i}")))
            .collect();
        for c in &codes {
            cell.refused(c, 4);
            cell.refused(c, 4);
        }
        let read = cell.read();
        assert!(read.contains(&(Decision::Allow, "", 2, 2)));
        assert!(read.contains(&(Decision::Deny, "permission_denied", 4, 1)));
        for c in &codes {
            assert!(read.contains(&(Decision::Deny, c, 4, 2)), "{c}");
        }
        assert_eq!(read.len(), 2 + codes.len());
    }
}
