//! The decision structure libseccomp builds for one syscall in one ABI, so that rampart decides
//! exactly as libseccomp 2.5 does (every published profile is written against it, and runc,
//! crun and the engines' tests run on it).
//!
//! Order of use: [`Syscall::add`] each rule in config order (it refuses what libseccomp
//! refuses), then hand the result to the emitter (`compile.rs`), which walks [`Syscall::levels`].
//!
//! What libseccomp does, and so what this module reproduces:
//! - a rule without conditions decides the syscall whatever came before or comes after: it drops
//!   every argument-scoped rule for the syscall, and later rules for the syscall (with or without
//!   conditions) are ignored. The first rule without conditions wins;
//! - a rule's conditions become a chain of 32-bit comparisons in argument order (0..5), whatever
//!   their order in the config. On a 64-bit ABI each condition is compared on the high half, then
//!   on the low half; on a 32-bit ABI (i386, x32: the kernel zero-extends 32-bit registers, and
//!   libseccomp treats x32 as a 32-bit ABI) only the low halves are compared, with the rule's
//!   value truncated to 32 bits. NE, LT and LE are stored as EQ, GE and GT with the action on the
//!   false branch;
//! - chains merge into a tree: nodes of one level are kept sorted by libseccomp's priority
//!   (higher argument first, then EQ/NE/MASKED_EQ before LT/LE before GT/GE, then by value;
//!   ties keep config order), and a node equal to an existing one (same argument half, operator,
//!   value and mask) is shared;
//! - evaluation tries the nodes of a level in that order; a branch with an action returns it, a
//!   branch with a sub-level continues there, and a branch with neither, or a sub-level where no
//!   node decided, continues with the next node of the level. A top level where nothing decided
//!   gives the default action;
//! - two rules with the same conditions and different actions are refused (EEXIST); so are a
//!   longer and a shorter rule on the same path with different actions.
//!
//! - before merging, libseccomp prunes (`_db_tree_prune`): it removes existing sub-trees the new
//!   rule covers with the same action, and drops the new rule when the existing tree looks
//!   "shorter". That test compares nodes and actions, not the path above them, so it can drop a
//!   rule that would decide some calls; we reproduce it too.
//!
//! Where rampart deliberately differs from libseccomp 2.5.4's *program* (not its rules): its BPF
//! generator has two accumulator bugs, found by the differential test. (1) When a rule with
//! arguments names a syscall an ABI lacks (`_llseek` on x86_64 with x32 listed), the section can
//! start comparing syscall numbers without loading the number, i.e. against the arch word. (2)
//! When a sub-level fails and control continues at the next node of the level above, that
//! node's load is elided although the accumulator holds the sub-level's word (e.g. the low half
//! of an argument where the node means the high half). Both make the filter decide on a value
//! the rules never mention. rampart emits what libseccomp's own tree says, which is what the
//! profile author and libseccomp's documentation mean; the test counts such samples apart.

use super::compile::Op;

/// Index of a node in [`Syscall::nodes`].
pub(crate) type Id = usize;

/// Comparison a node performs on one 32-bit half of an argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NodeOp {
    Eq,
    Gt,
    Ge,
    /// `(half & mask) == datum`
    MaskedEq,
}

#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) arg: u32,
    /// Compares the high half of the argument (only on 64-bit ABIs).
    pub(crate) hi: bool,
    pub(crate) op: NodeOp,
    /// The config's operator, which orders nodes.
    op_orig: Op,
    pub(crate) mask: u32,
    pub(crate) datum: u32,
    datum_full: u64,
    /// Actions of the true and false branches. libseccomp keeps an action value and a flag
    /// apart; one of its updates writes the value without the flag, so do we.
    pub(crate) act_t: Option<u32>,
    pub(crate) act_f: Option<u32>,
    act_t_raw: u32,
    pub(crate) nxt_t: Option<Id>,
    pub(crate) nxt_f: Option<Id>,
    lvl_prv: Option<Id>,
    pub(crate) lvl_nxt: Option<Id>,
}

/// One rule condition as libseccomp's API takes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cond {
    pub(crate) index: u32,
    pub(crate) op: Op,
    /// For MASKED_EQ the mask, else the value compared with.
    pub(crate) value: u64,
    /// For MASKED_EQ the value the masked argument must equal.
    pub(crate) value_two: u64,
}

/// What the config says about one syscall number in one ABI.
#[derive(Clone, Debug, Default)]
pub(crate) struct Syscall {
    pub(crate) nodes: Vec<Node>,
    /// First node of the top level, when there are argument-scoped rules.
    pub(crate) root: Option<Id>,
    /// The action of the rule without conditions that decides the syscall.
    pub(crate) unconditional: Option<u32>,
}

/// Where a pointer to a level lives: the syscall's root or a node's branch.
#[derive(Clone, Copy, Debug)]
enum Slot {
    Root,
    True(Id),
    False(Id),
}

/// libseccomp's `db_iter_state` while pruning.
#[derive(Clone, Copy, Debug)]
struct Prune {
    flags: u32,
    /// The new rule's action.
    action: u32,
}

const MATCH: u32 = 0x1;
const MATCH_ONCE: u32 = 0x2;
const X_FINISHED: u32 = 0x10;
const N_FINISHED: u32 = 0x20;
const X_PREFIX: u32 = 0x100;
const N_PREFIX: u32 = 0x200;
const M_MATCHSET: u32 = MATCH | MATCH_ONCE;
const M_REDUNDANT: u32 = MATCH | X_FINISHED | N_PREFIX;

/// Why libseccomp would refuse a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Conflict;

fn op_priority(op: Op) -> u32 {
    match op {
        Op::MaskedEq | Op::Eq | Op::Ne => 3,
        Op::Le | Op::Lt => 2,
        Op::Ge | Op::Gt => 1,
    }
}

impl Syscall {
    fn new_node(&mut self, c: &Cond, hi: bool, op: NodeOp) -> Id {
        // MASKED_EQ compares under its mask; every other operator under all ones.
        let (mask, datum) = match c.op {
            Op::MaskedEq => (c.value, c.value_two),
            _ => (u64::MAX, c.value),
        };
        let half = |v: u64| if hi { (v >> 32) as u32 } else { v as u32 };
        let (mask, datum) = (half(mask), half(datum));
        self.nodes.push(Node {
            arg: c.index,
            hi,
            op,
            op_orig: c.op,
            mask,
            datum: datum & mask,
            datum_full: match c.op {
                Op::MaskedEq => c.value_two,
                _ => c.value,
            },
            act_t: None,
            act_f: None,
            act_t_raw: 0,
            nxt_t: None,
            nxt_f: None,
            lvl_prv: None,
            lvl_nxt: None,
        });
        self.nodes.len() - 1
    }

    fn link(&mut self, prev: &[Id], tf: bool, to: Id) {
        for &p in prev {
            if tf {
                self.nodes[p].nxt_t = Some(to);
            } else {
                self.nodes[p].nxt_f = Some(to);
            }
        }
    }

    /// Builds the chain of one rule; `None` when no comparison is left (a rule whose every
    /// condition is a MASKED_EQ with an empty mask matches always).
    fn chain(&mut self, conds: &[Cond], action: u32, args_32bit: bool) -> Option<Id> {
        let mut sorted: Vec<Cond> = conds.to_vec();
        sorted.sort_by_key(|c| c.index);
        let mut first = None;
        let mut prev: Vec<Id> = Vec::new();
        let mut tf = false;
        for c in &sorted {
            let need_lo = !(c.op == Op::MaskedEq && c.value as u32 == 0);
            let need_hi = !(c.op == Op::MaskedEq && (c.value >> 32) == 0);
            if args_32bit {
                if !need_lo {
                    continue;
                }
                let op = match c.op {
                    Op::Eq | Op::Ne => NodeOp::Eq,
                    Op::MaskedEq => NodeOp::MaskedEq,
                    Op::Gt | Op::Le => NodeOp::Gt,
                    Op::Ge | Op::Lt => NodeOp::Ge,
                };
                let n = self.new_node(c, false, op);
                self.link(&prev, tf, n);
                first.get_or_insert(n);
                prev = vec![n];
                tf = !matches!(c.op, Op::Ne | Op::Lt | Op::Le);
                continue;
            }
            if !need_hi && !need_lo {
                continue;
            }
            match c.op {
                Op::Gt | Op::Ge | Op::Le | Op::Lt => {
                    let hi_gt = self.new_node(c, true, NodeOp::Gt);
                    let hi_eq = self.new_node(c, true, NodeOp::Eq);
                    let lo_op = if matches!(c.op, Op::Gt | Op::Le) {
                        NodeOp::Gt
                    } else {
                        NodeOp::Ge
                    };
                    let lo = self.new_node(c, false, lo_op);
                    self.nodes[hi_gt].nxt_f = Some(hi_eq);
                    self.nodes[hi_eq].nxt_t = Some(lo);
                    self.link(&prev, tf, hi_gt);
                    first.get_or_insert(hi_gt);
                    if matches!(c.op, Op::Gt | Op::Ge) {
                        prev = vec![hi_gt, lo];
                        tf = true;
                    } else {
                        prev = vec![hi_eq, lo];
                        tf = false;
                    }
                }
                Op::Eq | Op::Ne | Op::MaskedEq => {
                    let op = if c.op == Op::MaskedEq {
                        NodeOp::MaskedEq
                    } else {
                        NodeOp::Eq
                    };
                    let hi = self.new_node(c, true, op);
                    let lo = self.new_node(c, false, op);
                    self.nodes[hi].nxt_t = Some(lo);
                    self.link(&prev, tf, hi);
                    first.get_or_insert(hi);
                    if c.op == Op::Ne {
                        prev = vec![hi, lo];
                        tf = false;
                    } else {
                        prev = vec![lo];
                        tf = true;
                    }
                }
            }
        }
        let first = first?;
        for p in prev {
            if tf {
                self.nodes[p].act_t = Some(action);
                self.nodes[p].act_t_raw = action;
            } else {
                self.nodes[p].act_f = Some(action);
            }
        }
        Some(first)
    }

    /// Adds one rule (`conds` empty: a rule without conditions).
    pub(crate) fn add(
        &mut self,
        conds: &[Cond],
        action: u32,
        args_32bit: bool,
    ) -> Result<(), Conflict> {
        if self.unconditional.is_some() {
            // The existing rule without conditions already decides everything.
            return Ok(());
        }
        let chain = if conds.is_empty() {
            None
        } else {
            self.chain(conds, action, args_32bit)
        };
        let Some(chain) = chain else {
            self.unconditional = Some(action);
            self.root = None;
            return Ok(());
        };
        let Some(root) = self.root else {
            self.root = Some(chain);
            return Ok(());
        };
        // libseccomp first prunes the existing tree against the new chain: it drops existing
        // sub-trees the new rule makes redundant, or the new rule when it finds the existing
        // tree "shorter". Its redundancy test looks at node equality and actions only, not at
        // the path above, so it can drop a rule that does decide something; runc enforces
        // exactly that, so we reproduce it.
        let mut state = Prune { flags: 0, action };
        let removed = self.prune(Some(root), Some(chain), &mut state);
        if removed == 0 && state.flags & M_REDUNDANT == M_REDUNDANT {
            return Ok(());
        }
        // Pruning may have emptied the tree; the new chain is then all there is.
        let Some(mut slot) = self.root else {
            self.root = Some(chain);
            return Ok(());
        };
        let r = self.tree_add(&mut slot, chain);
        self.root = Some(slot);
        r
    }

    /// Nodes reachable from the root, through branches and level links.
    fn reachable(&self) -> Vec<bool> {
        let mut seen = vec![false; self.nodes.len()];
        let mut todo: Vec<Id> = self.root.into_iter().collect();
        while let Some(n) = todo.pop() {
            if std::mem::replace(&mut seen[n], true) {
                continue;
            }
            let x = &self.nodes[n];
            todo.extend(
                [x.nxt_t, x.nxt_f, x.lvl_prv, x.lvl_nxt]
                    .into_iter()
                    .flatten(),
            );
        }
        seen
    }

    fn slot(&self, s: Slot) -> Option<Id> {
        match s {
            Slot::Root => self.root,
            Slot::True(n) => self.nodes[n].nxt_t,
            Slot::False(n) => self.nodes[n].nxt_f,
        }
    }

    fn set_slot(&mut self, s: Slot, v: Option<Id>) {
        match s {
            Slot::Root => self.root = v,
            Slot::True(n) => self.nodes[n].nxt_t = v,
            Slot::False(n) => self.nodes[n].nxt_f = v,
        }
    }

    fn is_zombie(&self, n: Id) -> bool {
        let x = &self.nodes[n];
        self.is_leaf(n) && x.act_t.is_none() && x.act_f.is_none()
    }

    /// Removes `node` (and what hangs below it) from the tree under `slot`, and nodes that are
    /// left as leaves without actions on the way (libseccomp's `_db_tree_remove`). Returns how
    /// many nodes left the tree.
    fn tree_remove(&mut self, slot: Slot, node: Id) -> usize {
        let Some(start) = self.slot(slot) else {
            return 0;
        };
        let mut c = start;
        while let Some(p) = self.nodes[c].lvl_prv {
            c = p;
        }
        let mut cnt = 0;
        loop {
            if c == node {
                break;
            }
            cnt += self.tree_remove(Slot::True(c), node);
            cnt += self.tree_remove(Slot::False(c), node);
            if self.is_zombie(c) {
                break;
            }
            match self.nodes[c].lvl_nxt {
                Some(next) if cnt == 0 => c = next,
                _ => return cnt,
            }
        }
        let before = self.reachable().iter().filter(|&&r| r).count();
        if self.slot(slot) == Some(c) {
            let to = self.nodes[c].lvl_prv.or(self.nodes[c].lvl_nxt);
            self.set_slot(slot, to);
        }
        let (p, n) = (self.nodes[c].lvl_prv, self.nodes[c].lvl_nxt);
        if let Some(p) = p {
            self.nodes[p].lvl_nxt = n;
        }
        if let Some(n) = n {
            self.nodes[n].lvl_prv = p;
        }
        self.nodes[c].lvl_prv = None;
        self.nodes[c].lvl_nxt = None;
        let after = self.reachable().iter().filter(|&&r| r).count();
        cnt + before.saturating_sub(after)
    }

    fn gone(&self, n: Id) -> bool {
        !self.reachable()[n]
    }

    /// libseccomp's `_db_tree_prune`: compares the level of `existing` with the chain `new`,
    /// removing existing sub-trees the new chain covers with the same action, and recording in
    /// `state` whether the existing tree already covers the new chain. Returns how many nodes
    /// were removed.
    fn prune(&mut self, existing: Option<Id>, new: Option<Id>, state: &mut Prune) -> usize {
        let mut cnt = 0;
        let mut st = *state;
        let finish = |state: &mut Prune, st: Prune| {
            if st.flags & MATCH != 0 {
                state.flags |= st.flags;
            } else {
                state.flags &= !MATCH;
            }
        };
        let (Some(mut x), Some(n)) = (existing, new) else {
            finish(state, st);
            return cnt;
        };
        if state.flags & M_MATCHSET == MATCH_ONCE {
            finish(state, st);
            return cnt;
        }
        while let Some(p) = self.nodes[x].lvl_prv {
            x = p;
        }
        let mut cur = Some(x);
        while let Some(x) = cur {
            let x_next = self.nodes[x].lvl_nxt;
            if self.chain_eq(x, n) {
                st.flags |= M_MATCHSET;
                if self.is_leaf(n) {
                    st.flags |= N_FINISHED;
                }
                if self.is_leaf(x) {
                    st.flags |= X_FINISHED;
                }
                let (xn, nn) = (&self.nodes[x], &self.nodes[n]);
                let x_t = xn.act_t.is_some() || xn.nxt_t.is_some();
                let n_t = nn.act_t.is_some() || nn.nxt_t.is_some();
                let x_f = xn.act_f.is_some() || xn.nxt_f.is_some();
                let n_f = nn.act_f.is_some() || nn.nxt_f.is_some();
                if (x_t && !n_t) || (x_f && !n_f) {
                    finish(state, st);
                    return cnt;
                }
                if st.flags & N_FINISHED != 0 && st.flags & X_FINISHED != 0 {
                    let same = xn.act_t.is_some() == nn.act_t.is_some()
                        && xn.act_t_raw == nn.act_t_raw
                        && xn.act_f == nn.act_f;
                    if !same {
                        finish(state, st);
                        return cnt;
                    }
                }
                let mut x_dead = false;
                for true_branch in [true, false] {
                    let (xs, ns) = if true_branch {
                        (self.nodes[x].nxt_t, self.nodes[n].nxt_t)
                    } else {
                        (self.nodes[x].nxt_f, self.nodes[n].nxt_f)
                    };
                    if ns.is_none() {
                        continue;
                    }
                    let mut sn = *state;
                    sn.flags |= M_MATCHSET;
                    let removed = self.prune(xs, ns, &mut sn);
                    cnt += removed;
                    if sn.flags & MATCH != 0 {
                        st.flags |= sn.flags;
                    }
                    if removed > 0 && self.gone(x) {
                        x_dead = true;
                        break;
                    }
                }
                if !x_dead {
                    let all_same = self.actions_all(Some(x), st.action);
                    if all_same
                        && st.flags & MATCH != 0
                        && st.flags & N_FINISHED != 0
                        && st.flags & X_PREFIX != 0
                    {
                        cnt += self.tree_remove(Slot::Root, x);
                        if self.root.is_none() {
                            finish(state, st);
                            return cnt;
                        }
                    } else if all_same
                        && st.flags & MATCH != 0
                        && st.flags & X_FINISHED != 0
                        && st.flags & N_PREFIX != 0
                    {
                        finish(state, st);
                        return cnt;
                    }
                }
            } else if self.chain_lt(x, n) {
                if state.flags & N_PREFIX != 0 {
                    finish(state, st);
                    return cnt;
                }
                for true_branch in [true, false] {
                    let xs = if true_branch {
                        self.nodes[x].nxt_t
                    } else {
                        self.nodes[x].nxt_f
                    };
                    if xs.is_none() {
                        continue;
                    }
                    let mut sn = *state;
                    sn.flags &= !MATCH;
                    sn.flags |= X_PREFIX;
                    let removed = self.prune(xs, Some(n), &mut sn);
                    cnt += removed;
                    if sn.flags & MATCH != 0 {
                        st.flags |= sn.flags;
                        finish(state, st);
                        return cnt;
                    }
                    if removed > 0 && self.gone(x) {
                        break;
                    }
                }
            } else {
                if state.flags & X_PREFIX != 0 {
                    finish(state, st);
                    return cnt;
                }
                for true_branch in [true, false] {
                    let ns = if true_branch {
                        self.nodes[n].nxt_t
                    } else {
                        self.nodes[n].nxt_f
                    };
                    if ns.is_none() {
                        continue;
                    }
                    let mut sn = *state;
                    sn.flags &= !MATCH;
                    sn.flags |= N_PREFIX;
                    let removed = self.prune(Some(x), ns, &mut sn);
                    cnt += removed;
                    if sn.flags & MATCH != 0 {
                        st.flags |= sn.flags;
                        finish(state, st);
                        return cnt;
                    }
                    if removed > 0 && self.gone(x) {
                        break;
                    }
                }
            }
            cur = x_next;
        }
        st.flags &= !MATCH;
        finish(state, st);
        cnt
    }

    fn chain_eq(&self, a: Id, b: Id) -> bool {
        let (a, b) = (&self.nodes[a], &self.nodes[b]);
        a.arg == b.arg && a.hi == b.hi && a.op == b.op && a.datum == b.datum && a.mask == b.mask
    }

    /// libseccomp's "a sorts after b" on one level.
    fn chain_lt(&self, a: Id, b: Id) -> bool {
        let (a, b) = (&self.nodes[a], &self.nodes[b]);
        let (pa, pb) = (a.arg * 2 + u32::from(a.hi), b.arg * 2 + u32::from(b.hi));
        if pa != pb {
            return pa < pb;
        }
        let (oa, ob) = (op_priority(a.op_orig), op_priority(b.op_orig));
        if oa != ob {
            return oa < ob;
        }
        match a.op_orig {
            Op::Le | Op::Lt => a.datum > b.datum,
            _ => a.datum < b.datum,
        }
    }

    fn is_leaf(&self, n: Id) -> bool {
        self.nodes[n].nxt_t.is_none() && self.nodes[n].nxt_f.is_none()
    }

    /// Whether every action in the tree at `level` is `action`.
    pub(crate) fn actions_all(&self, level: Option<Id>, action: u32) -> bool {
        self.level(level).iter().all(|&n| {
            let x = &self.nodes[n];
            x.act_t.is_none_or(|a| a == action)
                && x.act_f.is_none_or(|a| a == action)
                && self.actions_all(x.nxt_t, action)
                && self.actions_all(x.nxt_f, action)
        })
    }

    /// The nodes of the level `n` is on, first to last.
    pub(crate) fn level(&self, n: Option<Id>) -> Vec<Id> {
        let Some(mut n) = n else { return Vec::new() };
        while let Some(p) = self.nodes[n].lvl_prv {
            n = p;
        }
        let mut out = vec![n];
        while let Some(x) = self.nodes[n].lvl_nxt {
            out.push(x);
            n = x;
        }
        out
    }

    /// Merges the chain `new` into the level whose node `*existing` is (libseccomp's
    /// `_db_tree_add`, including its starting point: the level is searched from `*existing` on).
    fn tree_add(&mut self, existing: &mut Id, new: Id) -> Result<(), Conflict> {
        let mut x = *existing;
        let n = new;
        loop {
            if self.chain_eq(x, n) {
                if let Some(na) = self.nodes[n].act_t {
                    match self.nodes[x].act_t {
                        None => {
                            if !self.actions_all(self.nodes[x].nxt_t, na) {
                                return Err(Conflict);
                            }
                            self.nodes[x].nxt_t = None;
                            self.nodes[x].act_t = Some(na);
                            self.nodes[x].act_t_raw = na;
                        }
                        Some(xa) if xa != na => {
                            if self.nodes[n].hi
                                && self.nodes[n].datum_full > self.nodes[x].datum_full
                            {
                                self.nodes[x].act_t = Some(na);
                                self.nodes[x].act_t_raw = na;
                            }
                            if self.is_leaf(x) || self.is_leaf(n) {
                                return Err(Conflict);
                            }
                        }
                        Some(_) => {}
                    }
                }
                if let Some(na) = self.nodes[n].act_f {
                    match self.nodes[x].act_f {
                        None => {
                            if !self.actions_all(self.nodes[x].nxt_f, na) {
                                return Err(Conflict);
                            }
                            self.nodes[x].nxt_f = None;
                            self.nodes[x].act_f = Some(na);
                        }
                        Some(xa) if xa != na => {
                            if self.nodes[n].hi
                                && self.nodes[n].datum_full < self.nodes[x].datum_full
                            {
                                // libseccomp updates the true action here (sic), with the new
                                // node's true action value, flag unchanged.
                                let raw = self.nodes[n].act_t_raw;
                                self.nodes[x].act_t_raw = raw;
                                if self.nodes[x].act_t.is_some() {
                                    self.nodes[x].act_t = Some(raw);
                                }
                            }
                            if self.is_leaf(x) || self.is_leaf(n) {
                                return Err(Conflict);
                            }
                        }
                        Some(_) => {}
                    }
                }
                if let Some(nt) = self.nodes[n].nxt_t {
                    match self.nodes[x].nxt_t {
                        Some(mut xt) => {
                            self.tree_add(&mut xt, nt)?;
                            self.nodes[x].nxt_t = Some(xt);
                        }
                        None if self.nodes[x].act_t.is_none() => self.nodes[x].nxt_t = Some(nt),
                        None => return Ok(()),
                    }
                }
                if let Some(nf) = self.nodes[n].nxt_f {
                    match self.nodes[x].nxt_f {
                        Some(mut xf) => {
                            self.tree_add(&mut xf, nf)?;
                            self.nodes[x].nxt_f = Some(xf);
                        }
                        None if self.nodes[x].act_f.is_none() => self.nodes[x].nxt_f = Some(nf),
                        None => return Ok(()),
                    }
                }
                return Ok(());
            } else if !self.chain_lt(x, n) {
                match self.nodes[x].lvl_nxt {
                    None => {
                        self.nodes[n].lvl_prv = Some(x);
                        self.nodes[x].lvl_nxt = Some(n);
                        return Ok(());
                    }
                    Some(next) => x = next,
                }
            } else {
                // n goes before x.
                if let Some(p) = self.nodes[x].lvl_prv {
                    self.nodes[p].lvl_nxt = Some(n);
                    self.nodes[n].lvl_prv = Some(p);
                }
                self.nodes[x].lvl_prv = Some(n);
                self.nodes[n].lvl_nxt = Some(x);
                if *existing == x {
                    *existing = n;
                }
                return Ok(());
            }
        }
    }
}
