package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// workers are the goroutines parallelFor hands its loops to. They stay
// alive between loops and spin for a while before they sleep: the networks
// run thousands of loops per step, a few to a few hundred microseconds
// apart, and a sleeping thread took tens of microseconds to wake on each
// (futex and, on a VM, the host's wake-up of the virtual CPU).
var workers workerPool

// workerPool is the state of workers.
type workerPool struct {
	mu      sync.Mutex
	wake    *sync.Cond
	started atomic.Int32  // worker goroutines started (only ensure adds, under mu)
	spin    atomic.Int32  // workers numbered below it poll before they sleep: GOMAXPROCS-1
	parked  atomic.Int32  // workers asleep on wake
	gen     atomic.Uint64 // bumped for each loop published in job
	job     atomic.Pointer[poolLoop]
	busy    atomic.Bool // a loop is running on the workers
}

// poolLoop is one parallel loop's tasks and counters: published to the
// workers by poolFor, or run by goroutines of its own (parallelFor's
// fallback, which uses only fn, tasks and next).
type poolLoop struct {
	fn     func(t int)
	tasks  int64
	next   atomic.Int64 // next task to hand out
	slots  atomic.Int32 // workers that may still join (nt-1 at the start)
	joined atomic.Int32 // workers that took a slot
	done   atomic.Int32 // workers that took a slot and finished
}

// workerSpin is how long an idle worker polls for the next loop before it
// sleeps.
const workerSpin = 200 * time.Microsecond

// poolFor is parallelFor on the workers, with the caller as one of nt
// threads. It reports false, having run nothing, if the workers are busy
// with another loop (a loop started inside a task, or from another
// goroutine); the caller then starts goroutines of its own.
func poolFor(tasks, nt int, fn func(t int)) bool {
	w := &workers
	if !w.busy.CompareAndSwap(false, true) {
		return false
	}
	defer w.busy.Store(false)
	w.ensure(nt - 1)
	l := &poolLoop{fn: fn, tasks: int64(tasks)}
	l.slots.Store(int32(nt - 1))
	w.job.Store(l)
	w.gen.Add(1)
	// A worker counts itself parked before it checks gen again under the
	// lock, and gen moved before this load: either it sees the new loop or
	// this sees it parked.
	if w.parked.Load() > 0 {
		w.mu.Lock()
		w.wake.Broadcast()
		w.mu.Unlock()
	}
	l.run()
	// Every task has been handed out; wait for the workers still running
	// one. A worker takes its slot before its first task, so one that
	// joins after this point finds no task left.
	for i := 0; l.done.Load() != l.joined.Load(); i++ {
		if i%64 == 63 {
			runtime.Gosched()
		}
	}
	return true
}

// run hands out the loop's tasks until none are left.
func (l *poolLoop) run() {
	for {
		t := l.next.Add(1) - 1
		if t >= l.tasks {
			return
		}
		l.fn(int(t))
	}
}

// ensure starts workers until there are at least n.
func (w *workerPool) ensure(n int) {
	if int(w.started.Load()) >= n {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.wake == nil {
		w.wake = sync.NewCond(&w.mu)
	}
	w.spin.Store(int32(runtime.GOMAXPROCS(0) - 1))
	for i := int(w.started.Load()); i < n; i++ {
		go w.work(i, w.gen.Load())
		w.started.Store(int32(i + 1))
	}
}

// work is worker number i: it joins each loop published after generation
// seen.
func (w *workerPool) work(i int, seen uint64) {
	for {
		seen = w.await(seen, i < int(w.spin.Load()))
		l := w.job.Load()
		if l.slots.Add(-1) < 0 {
			continue // the loop has all the threads it may use
		}
		l.joined.Add(1)
		l.run()
		l.done.Add(1)
	}
}

// await returns the generation of the next loop after seen, polling for
// workerSpin if spin and then sleeping until poolFor wakes it. Only as
// many workers spin as there were other Ps when workers were last started,
// so that with more threads than GOMAXPROCS the spinning ones do not keep
// the rest from running.
func (w *workerPool) await(seen uint64, spin bool) uint64 {
	start := time.Now()
	for i := 0; spin; i++ {
		if g := w.gen.Load(); g != seen {
			return g
		}
		if i%256 == 255 {
			if time.Since(start) > workerSpin {
				break
			}
			runtime.Gosched()
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.parked.Add(1)
	defer w.parked.Add(-1)
	for {
		if g := w.gen.Load(); g != seen {
			return g
		}
		w.wake.Wait()
	}
}
