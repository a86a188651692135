package graph

import "sort"

// plan assigns every node an offset in one arena so that nodes whose live
// ranges overlap never share memory, and returns the arena size. A node is
// live from the step that defines it to its last use; inputs and outputs
// live for the whole run. An op's output is placed while its inputs are
// still live, so no kernel ever writes over what it reads. Placement is
// first fit by address over the blocks live at that step.
func plan(nodes []*node) int {
	type block struct{ off, size, end int }
	var live []block
	total := 0
	for i, n := range nodes {
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
		size := numel(n.shape)
		size = (size + 15) &^ 15 // 64-byte alignment of every slot
		off := 0
		for _, b := range live {
			if off+size <= b.off {
				break
			}
			off = max(off, b.off+b.size)
		}
		end := n.lastUse
		if n.op == nil || n.isOutput {
			end = len(nodes)
		}
		n.off = off
		live = append(live, block{off: off, size: size, end: end})
		total = max(total, off+size)
	}
	return total
}
