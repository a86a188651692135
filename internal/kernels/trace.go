package kernels

import (
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Loop is one traced parallel loop: the time each of its tasks took, in
// task order, and the loop's own wall time.
type Loop struct {
	Tasks []time.Duration
	Wall  time.Duration
	Func  string // the function that ran the loop, e.g. "kernels.conv3x3Winograd"
}

// loopTrace holds the loops parallelFor ran while tracing was on.
var loopTrace struct {
	on    atomic.Bool
	depth atomic.Int32 // loops running: a loop inside another's task is not recorded
	mu    sync.Mutex
	loops []Loop
}

// TraceLoops turns the recording of every parallel loop's task times on or
// off (off by default: it costs two clock reads per task); turning it on
// forgets what was recorded.
func TraceLoops(on bool) {
	if on {
		loopTrace.mu.Lock()
		loopTrace.loops = nil
		loopTrace.mu.Unlock()
	}
	loopTrace.on.Store(on)
}

// TracedLoops returns the loops recorded since TraceLoops(true).
func TracedLoops() []Loop {
	loopTrace.mu.Lock()
	defer loopTrace.mu.Unlock()
	return slices.Clone(loopTrace.loops)
}

// traced wraps fn to record each task's time into a new loop of n tasks,
// and returns the wrapper and a function that files the loop when it has
// finished. A loop run by another loop's task is left alone (its time is
// in that task's).
func traced(n int, fn func(t int)) (func(t int), func()) {
	if loopTrace.depth.Add(1) > 1 {
		return fn, func() { loopTrace.depth.Add(-1) }
	}
	d, start := make([]time.Duration, n), time.Now()
	fn0 := loopCaller()
	return func(t int) {
			s := time.Now()
			fn(t)
			d[t] = time.Since(s)
		}, func() {
			l := Loop{Tasks: d, Wall: time.Since(start), Func: fn0}
			loopTrace.depth.Add(-1)
			loopTrace.mu.Lock()
			loopTrace.loops = append(loopTrace.loops, l)
			loopTrace.mu.Unlock()
		}
}

// loopCaller names the kernel function that started the loop being
// traced: the first caller of parallelFor that is not parallelRange.
func loopCaller() string {
	var pcs [8]uintptr
	frames := runtime.CallersFrames(pcs[:runtime.Callers(4, pcs[:])]) // skip Callers, loopCaller, traced, parallelFor
	for {
		f, more := frames.Next()
		name := f.Function[strings.LastIndex(f.Function, "/")+1:]
		if !strings.HasPrefix(name, "kernels.parallelRange") || !more {
			return name
		}
	}
}

// Makespan is the time the loop would take on n threads that take tasks in
// order as each becomes free, as parallelFor hands them out, if each task
// took the time it took when traced: a bound on the speed-up from more
// threads set by the split into tasks alone (shared caches and memory
// bandwidth, which make tasks slower as threads are added, are not in it).
func (l Loop) Makespan(n int) time.Duration {
	n = max(1, min(n, len(l.Tasks)))
	free := make([]time.Duration, n) // when each thread is next free
	var end time.Duration
	for _, d := range l.Tasks {
		i := 0
		for j := range free {
			if free[j] < free[i] {
				i = j
			}
		}
		free[i] += d
		end = max(end, free[i])
	}
	return end
}
