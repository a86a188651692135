package kernels

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// peak counts the tasks running at once and the most that did.
type peak struct{ running, most atomic.Int32 }

func (p *peak) enter() {
	n := p.running.Add(1)
	for m := p.most.Load(); n > m && !p.most.CompareAndSwap(m, n); m = p.most.Load() {
	}
}

func (p *peak) leave() { p.running.Add(-1) }

// loopCheck runs parallelFor over tasks tasks, some of them slow, and
// checks when it returns that every task ran exactly once and that no more
// than want tasks ran at a time. It may run on any goroutine (it reports
// with Errorf).
func loopCheck(t *testing.T, what string, tasks, want int) {
	t.Helper()
	runs := make([]atomic.Int32, tasks)
	var pk peak
	parallelFor(tasks, func(i int) {
		pk.enter()
		if i%3 == 0 {
			time.Sleep(200 * time.Microsecond) // a slow task still running on a worker when the caller runs out
		}
		runs[i].Add(1)
		pk.leave()
	})
	for i := range runs {
		if n := runs[i].Load(); n != 1 {
			t.Errorf("%s: task %d of %d ran %d times by the time parallelFor returned", what, i, tasks, n)
			return
		}
	}
	if m := int(pk.most.Load()); m > want {
		t.Errorf("%s: %d tasks ran at once, want at most %d", what, m, want)
	}
}

// TestParallelForTasks checks that every task runs once, on at most
// Threads() goroutines, for thread counts below and above GOMAXPROCS and
// for loops in quick succession and after the workers have gone to sleep.
func TestParallelForTasks(t *testing.T) {
	defer SetThreads(Threads())
	for _, threads := range []int{1, 2, 3, 8} {
		SetThreads(threads)
		for _, tasks := range []int{0, 1, 2, 7, 300} {
			for round := range 3 {
				loopCheck(t, name("threads %d tasks %d round %d", threads, tasks, round), tasks, min(threads, max(tasks, 1)))
			}
			time.Sleep(2 * workerSpin) // the workers sleep; the next loop wakes them
		}
	}
}

// TestParallelForUsesThreads checks that a loop of slow tasks runs on all
// Threads() goroutines (the sleeping tasks leave room for more than
// GOMAXPROCS), and on no more when fewer threads are asked for than
// workers were started, each loop waking workers that went to sleep.
func TestParallelForUsesThreads(t *testing.T) {
	defer SetThreads(Threads())
	for _, threads := range []int{4, 2, 3} {
		SetThreads(threads)
		time.Sleep(2 * workerSpin)
		var pk peak
		parallelFor(40, func(int) {
			pk.enter()
			time.Sleep(2 * time.Millisecond)
			pk.leave()
		})
		if m := int(pk.most.Load()); m != threads {
			t.Errorf("threads %d: at most %d tasks ran at once", threads, m)
		}
	}
}

// TestParallelForNested checks loops started inside tasks and from several
// goroutines at once: the workers take one loop, the others get goroutines
// of their own, and every task of every loop runs once.
func TestParallelForNested(t *testing.T) {
	defer SetThreads(Threads())
	SetThreads(3)
	const outer, inner = 6, 50
	var runs [outer][inner]atomic.Int32
	parallelFor(outer, func(i int) {
		parallelFor(inner, func(j int) { runs[i][j].Add(1) })
	})
	for i := range outer {
		for j := range inner {
			if n := runs[i][j].Load(); n != 1 {
				t.Fatalf("nested: inner task %d of outer task %d ran %d times", j, i, n)
			}
		}
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 20 {
				loopCheck(t, name("goroutine %d round %d", g, round), 25, 3)
			}
		}()
	}
	wg.Wait()
}
