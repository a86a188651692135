package kernels

import "testing"

// TestScratchMapped checks that a large scratch buffer is a mapping that
// the free list recycles and DropScratch unmaps, and that a small one is not.
func TestScratchMapped(t *testing.T) {
	DropScratch()
	mapped := func() int {
		mappedScratch.Lock()
		defer mappedScratch.Unlock()
		return len(mappedScratch.m)
	}
	before := mapped()
	small := getBuf(1000)
	big := getBuf(hugeScratch + 5)
	if got := mapped(); got != before+1 {
		t.Fatalf("%d mappings after a large getBuf, want %d", got, before+1)
	}
	b := *big
	for i := range b {
		b[i] = float32(i)
	}
	first := &b[0]
	putBuf(big)
	putBuf(small)
	again := getBuf(hugeScratch + 1)
	if &(*again)[0] != first || (*again)[hugeScratch] != float32(hugeScratch) {
		t.Fatal("the free list did not hand back the mapped buffer")
	}
	putBuf(again)
	DropScratch()
	if got := mapped(); got != before {
		t.Fatalf("%d mappings after DropScratch, want %d", got, before)
	}
}
