package kernels

import (
	"testing"
	"time"
)

// TestMakespan checks the list schedule against hand-worked cases.
func TestMakespan(t *testing.T) {
	ms := time.Millisecond
	l := Loop{Tasks: []time.Duration{5 * ms, 1 * ms, 1 * ms, 1 * ms, 4 * ms}}
	for _, c := range []struct {
		n    int
		want time.Duration
	}{
		{1, 12 * ms}, // all in a row
		{2, 7 * ms},  // 5 | 1,1,1,4: the 4 starts at 3
		{3, 5 * ms},  // 5 | 1,1 | 1,4: the 4 starts at 1 on the thread free first
		{5, 5 * ms},  // one task each
		{9, 5 * ms},  // more threads than tasks
		{0, 12 * ms}, // n < 1 means one thread
	} {
		if got := l.Makespan(c.n); got != c.want {
			t.Errorf("Makespan(%d) = %v, want %v", c.n, got, c.want)
		}
	}
}

// TestTraceLoops checks that a traced loop records one time per task and
// that a loop inside a task is not recorded on its own.
func TestTraceLoops(t *testing.T) {
	defer SetThreads(Threads())
	SetThreads(2)
	TraceLoops(true)
	parallelFor(3, func(int) {
		parallelFor(4, func(int) { time.Sleep(time.Millisecond) })
	})
	parallelFor(5, func(int) {})
	parallelRange(10, 4, func(int, int) {})
	loops := TracedLoops()
	TraceLoops(false)
	parallelFor(2, func(int) {})
	if len(loops) != 3 || len(loops[0].Tasks) != 3 || len(loops[1].Tasks) != 5 || len(loops[2].Tasks) != 3 {
		t.Fatalf("recorded %d loops %+v, want the outer loop of 3 tasks, the loop of 5 and the range's 3", len(loops), loops)
	}
	for i, l := range loops {
		if l.Func != "kernels.TestTraceLoops" {
			t.Errorf("loop %d: started by %q, want kernels.TestTraceLoops", i, l.Func)
		}
	}
	for i, d := range loops[0].Tasks {
		if d < 4*time.Millisecond/2 { // four 1 ms sleeps over 2 threads
			t.Errorf("outer task %d took %v, less than its inner loop", i, d)
		}
	}
	if loops[0].Wall < loops[0].Makespan(3) {
		t.Errorf("wall %v below the 3-thread makespan %v", loops[0].Wall, loops[0].Makespan(3))
	}
	if n := len(TracedLoops()); n != 3 {
		t.Errorf("after TraceLoops(false): %d loops, want the 3 recorded", n)
	}
}
