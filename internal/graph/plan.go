package graph

import "sort"

// plan assigns every node an offset in one arena so that nodes whose live
// ranges overlap never share memory, and returns the arena size. A node is
// live from the step that defines it to its last use; outputs live to the
// end of the run. Inputs and slow nodes hold values across a run's start
// (copied in before it, or kept from the previous run), so they are placed
// first, in slots no other node ever shares. An op's output is placed while
// its inputs are still live, so no kernel ever writes over what it reads.
// Placement is first fit by address over the blocks live at that step.
func plan(nodes []*node) int {
	type block struct{ off, size, end int }
	var live []block
	total := 0
	kept := func(n *node) bool { return n.op == nil || n.slow }
	for _, n := range nodes {
		if kept(n) {
			n.off = total
			live = append(live, block{off: total, size: slotSize(n), end: len(nodes)})
			total += slotSize(n)
		}
	}
	for i, n := range nodes {
		if kept(n) {
			continue
		}
		// Free blocks whose last use was before this step.
		k := 0
		for _, b := range live {
			if b.end >= i {
				live[k] = b
				k++
			}
		}
		live = live[:k]
		sort.Slice(live, func(a, b int) bool { return live[a].off < live[b].off })
		size := slotSize(n)
		off := 0
		for _, b := range live {
			if off+size <= b.off {
				break
			}
			off = max(off, b.off+b.size)
		}
		end := n.lastUse
		if n.isOutput {
			end = len(nodes)
		}
		n.off = off
		live = append(live, block{off: off, size: size, end: end})
		total = max(total, off+size)
	}
	return total
}

// slotSize is n's slot in floats, rounded up to 64 bytes.
func slotSize(n *node) int { return (numel(n.shape) + 15) &^ 15 }
