//! Fixed-size tables whose entries are stored only once used.
//!
//! A module has 16 PDP contexts (`AT+QIACT=?`), six MQTT clients (application
//! note §3.2.1) and six SSL contexts, and a device uses one or two of each. Held
//! inline they made a [`Modem`](crate::Modem) 7.4 KB, most of it factory state
//! nobody touched — the size a fleet of 100,000 modules multiplies (issue 13).
//! A [`Sparse`] table keeps a pointer per entry and stores an entry on its first
//! write; reading an entry that was never written gives the factory value
//! (one `static` per kind), so what the host sees is unchanged.

use core::fmt;
use core::ops::{Index, IndexMut};

/// An entry kind of a [`Sparse`] table.
pub(crate) trait Entry: Sized + 'static {
    /// The factory state of entry `index`, stored on first write.
    fn fresh(index: usize) -> Self;
    /// The same state, read-only, for entries never written.
    fn idle(index: usize) -> &'static Self;
}

/// `N` entries, each stored (boxed) on first mutable access.
///
/// Reading (`table[i]`, `&table` iteration) never stores; `table[i] = …`,
/// `&mut table[i]` and [`get_mut`](Self::get_mut) do, and a stored entry stays
/// stored (entries carry state such as a link generation that must not reset).
/// [`stored_mut`](Self::stored_mut) visits only stored entries: use it for
/// changes that leave a factory entry as it is (e.g. deactivating contexts).
pub(crate) struct Sparse<T: Entry, const N: usize>([Option<Box<T>>; N]);

impl<T: Entry, const N: usize> Sparse<T, N> {
    pub(crate) fn new() -> Self {
        Sparse(std::array::from_fn(|_| None))
    }

    pub(crate) const fn len(&self) -> usize {
        N
    }

    /// Entry `i` (factory state when never written), `None` past the end.
    pub(crate) fn get(&self, i: usize) -> Option<&T> {
        (i < N).then(|| &self[i])
    }

    /// Entry `i`, stored if it was not; `None` past the end.
    pub(crate) fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        (i < N).then(|| &mut self[i])
    }

    /// Entry `i` only if it was ever written; never stores.
    pub(crate) fn get_stored_mut(&mut self, i: usize) -> Option<&mut T> {
        self.0.get_mut(i)?.as_deref_mut()
    }

    /// All `N` entries in order (factory state for those never written).
    pub(crate) fn iter(&self) -> Iter<'_, T, N> {
        Iter { table: self, i: 0 }
    }

    /// The entries ever written, in order.
    pub(crate) fn stored_mut(&mut self) -> impl Iterator<Item = &mut T> + '_ {
        self.0.iter_mut().filter_map(|e| e.as_deref_mut())
    }

    /// The entries ever written, in order.
    pub(crate) fn stored(&self) -> impl Iterator<Item = &T> + '_ {
        self.0.iter().filter_map(|e| e.as_deref())
    }
}

impl<T: Entry, const N: usize> Default for Sparse<T, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Entry, const N: usize> Index<usize> for Sparse<T, N> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        match &self.0[i] {
            Some(e) => e,
            None => T::idle(i),
        }
    }
}

impl<T: Entry, const N: usize> IndexMut<usize> for Sparse<T, N> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        self.0[i].get_or_insert_with(|| Box::new(T::fresh(i)))
    }
}

/// All entries of a [`Sparse`] table, in order.
pub(crate) struct Iter<'a, T: Entry, const N: usize> {
    table: &'a Sparse<T, N>,
    i: usize,
}

impl<'a, T: Entry, const N: usize> Iterator for Iter<'a, T, N> {
    type Item = &'a T;
    fn next(&mut self) -> Option<&'a T> {
        let e = self.table.get(self.i)?;
        self.i += 1;
        Some(e)
    }
}

impl<'a, T: Entry, const N: usize> IntoIterator for &'a Sparse<T, N> {
    type Item = &'a T;
    type IntoIter = Iter<'a, T, N>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: Entry + Clone, const N: usize> Clone for Sparse<T, N> {
    fn clone(&self) -> Self {
        Sparse(self.0.clone())
    }
}

/// Equal when every entry reads the same, stored or not.
impl<T: Entry + PartialEq, const N: usize> PartialEq for Sparse<T, N> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl<T: Entry + Eq, const N: usize> Eq for Sparse<T, N> {}

impl<T: Entry + fmt::Debug, const N: usize> fmt::Debug for Sparse<T, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.0
                    .iter()
                    .enumerate()
                    .filter_map(|(i, e)| e.as_deref().map(|e| (i, e))),
            )
            .finish()
    }
}
