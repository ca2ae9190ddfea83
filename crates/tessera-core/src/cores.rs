//! How many of a render's threads may compute at once.

use std::collections::BTreeSet;
use std::sync::{Condvar, Mutex, MutexGuard};

/// A render's share of the processors: the number of its threads that may
/// compute at once. A render whose nodes wait on other processes
/// ([`crate::Node::tiles_elsewhere`]) runs more threads than that, so that
/// while one waits for another process's answer another prepares the next
/// request; each holds a share while it computes and sets it aside while
/// it waits ([`crate::TileCtx::while_waiting`]).
///
/// Tiles are claimed holding a share, and a share set aside is taken back
/// before any new claim. With one share, it comes back only to the lowest
/// tile of those whose shares are set aside, so what the threads hand to
/// another process for a node goes in tile order, as one thread would hand
/// it (a node keeping state in a worker process then sees its calls in the
/// same order at every run). With more, any may take one back: several
/// workers answer in no set order, and waiting for the lowest tile would
/// hold every thread back to the slowest worker.
#[derive(Debug)]
pub struct Cores {
    shares: Mutex<Shares>,
    freed: Condvar,
    /// One share: shares come back in tile order.
    in_order: bool,
}

#[derive(Debug)]
struct Shares {
    free: usize,
    /// Tiles whose threads have set their shares aside.
    aside: BTreeSet<usize>,
    /// How many of those wait to take theirs back: claims wait for them.
    returning: usize,
}

/// A share held by the thread computing one tile; given back when dropped.
#[derive(Debug)]
#[must_use = "the share is given back when this is dropped"]
pub struct CoreHeld<'c> {
    cores: &'c Cores,
    tile: usize,
}

impl Cores {
    pub fn new(count: usize) -> Cores {
        Cores {
            shares: Mutex::new(Shares {
                free: count.max(1),
                aside: BTreeSet::new(),
                returning: 0,
            }),
            freed: Condvar::new(),
            in_order: count <= 1,
        }
    }

    fn shares(&self) -> MutexGuard<'_, Shares> {
        self.shares.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn wait<'g>(&self, shares: MutexGuard<'g, Shares>) -> MutexGuard<'g, Shares> {
        self.freed.wait(shares).unwrap_or_else(|e| e.into_inner())
    }

    /// Once a share is free and no thread waits to take one back: the tile
    /// `claim` gives (the next), and the share to compute it with.
    pub fn claim(&self, claim: impl FnOnce() -> usize) -> CoreHeld<'_> {
        let mut shares = self.shares();
        while shares.free == 0 || shares.returning > 0 {
            shares = self.wait(shares);
        }
        shares.free -= 1;
        CoreHeld {
            cores: self,
            tile: claim(),
        }
    }

    /// Runs `wait` (for another process, say) with tile `tile`'s share set
    /// aside, and takes one back after: before any new claim, and with one
    /// share once no lower tile's is set aside.
    fn without_share<T>(&self, tile: usize, wait: impl FnOnce() -> T) -> T {
        {
            let mut shares = self.shares();
            shares.aside.insert(tile);
            shares.free += 1;
        }
        self.freed.notify_all();
        // Taken back even if `wait` panics: the caller's guard gives it back.
        let _again = TakeBack { cores: self, tile };
        wait()
    }

    fn give_back(&self) {
        self.shares().free += 1;
        self.freed.notify_all();
    }

    fn take_back(&self, tile: usize) {
        let mut shares = self.shares();
        shares.returning += 1;
        while shares.free == 0 || (self.in_order && shares.aside.first() != Some(&tile)) {
            shares = self.wait(shares);
        }
        shares.aside.remove(&tile);
        shares.returning -= 1;
        shares.free -= 1;
        drop(shares);
        // The next tile set aside, or a claim, may go now.
        self.freed.notify_all();
    }
}

/// Takes the share back when dropped (see [`CoreHeld::set_aside`]).
struct TakeBack<'c> {
    cores: &'c Cores,
    tile: usize,
}

impl Drop for TakeBack<'_> {
    fn drop(&mut self) {
        self.cores.take_back(self.tile);
    }
}

impl CoreHeld<'_> {
    /// The tile claimed with the share.
    pub fn tile(&self) -> usize {
        self.tile
    }

    /// Runs `wait` (for another process, say) with the share set aside, so
    /// that another thread computes meanwhile, and takes it back after:
    /// before any new claim, and with one share once no lower tile's is set
    /// aside.
    pub fn set_aside<T>(&self, wait: impl FnOnce() -> T) -> T {
        self.cores.without_share(self.tile, wait)
    }
}

impl Drop for CoreHeld<'_> {
    fn drop(&mut self) {
        self.cores.give_back();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn no_more_threads_compute_at_once_than_there_are_shares() {
        let cores = Cores::new(2);
        let next = AtomicUsize::new(0);
        let computing = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..6 {
                scope.spawn(|| {
                    for _ in 0..200 {
                        let held = cores.claim(|| next.fetch_add(1, Ordering::SeqCst));
                        let now = computing.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        computing.fetch_sub(1, Ordering::SeqCst);
                        // Waiting elsewhere lets another compute; the share
                        // is back before computing goes on.
                        held.set_aside(std::thread::yield_now);
                    }
                });
            }
        });
        assert!(most.load(Ordering::SeqCst) <= 2);
        assert_eq!(next.load(Ordering::SeqCst), 1200);
        assert_eq!(cores.shares().free, 2);
    }

    #[test]
    fn with_one_share_what_is_handed_over_goes_in_tile_order() {
        // Each thread claims a tile, hands it over (records it) holding the
        // share, waits elsewhere, then finishes it: the hand-overs are in
        // tile order however the threads are scheduled.
        let cores = Cores::new(1);
        let next = AtomicUsize::new(0);
        let handed = Mutex::new(Vec::new());
        std::thread::scope(|scope| {
            for _ in 0..4 {
                scope.spawn(|| {
                    loop {
                        let held = cores.claim(|| next.fetch_add(1, Ordering::SeqCst));
                        if held.tile() >= 400 {
                            break;
                        }
                        handed.lock().unwrap().push(held.tile());
                        held.set_aside(std::thread::yield_now);
                    }
                });
            }
        });
        let handed = handed.into_inner().unwrap();
        assert_eq!(handed, (0..400).collect::<Vec<_>>());
    }

    #[test]
    fn a_share_set_aside_comes_back_after_lower_tiles_set_aside() {
        // Tiles 0 and 1 both set their shares aside (as a thread does
        // waiting for the finished tiles to catch up); tile 1's wait ends
        // first, but tile 0 takes its share back first.
        let cores = Cores::new(1);
        let order = Mutex::new(Vec::new());
        let zero = cores.claim(|| 0);
        let (zero_aside, one_done) = (std::sync::Barrier::new(2), std::sync::Barrier::new(2));
        std::thread::scope(|scope| {
            scope.spawn(|| {
                zero.set_aside(|| {
                    zero_aside.wait();
                    one_done.wait();
                    // Tile 1 is waiting to take its share back by now, or
                    // soon: it must not get it before this one.
                    std::thread::sleep(std::time::Duration::from_millis(50));
                });
                order.lock().unwrap().push(0);
                drop(zero);
            });
            zero_aside.wait();
            let one = cores.claim(|| 1);
            one.set_aside(|| one_done.wait());
            order.lock().unwrap().push(1);
        });
        assert_eq!(*order.lock().unwrap(), [0, 1]);
    }

    #[test]
    fn a_thread_waiting_elsewhere_lets_another_compute() {
        let cores = Cores::new(1);
        let held = cores.claim(|| 0);
        held.set_aside(|| {
            // Would wait for ever if the share were still held.
            drop(cores.claim(|| 1));
        });
        assert_eq!(cores.shares().free, 0);
        drop(held);
        assert_eq!(cores.shares().free, 1);
    }
}
