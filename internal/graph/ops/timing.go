package ops

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// OpTime is what the ops with one label cost while timing was on.
type OpTime struct {
	Label   string  `json:"op"`
	Calls   int     `json:"calls"`
	Seconds float64 `json:"seconds"`
	FLOPs   int64   `json:"flops"`
}

var timing struct {
	on, byShape atomic.Bool // read by every op, so not under the mutex
	sync.Mutex
	by map[string]*OpTime
}

// TimeOps turns per-op timing on or off; turning it on starts from zero.
// byShape splits each label by the ops' operand sizes (Plan.Shape). It
// costs two clock reads per op.
func TimeOps(on, byShape bool) {
	timing.Lock()
	defer timing.Unlock()
	timing.on.Store(on)
	timing.byShape.Store(on && byShape)
	if on {
		timing.by = map[string]*OpTime{}
	}
}

// OpTimes returns the totals so far by label, most time first.
func OpTimes() []OpTime {
	timing.Lock()
	defer timing.Unlock()
	ts := make([]OpTime, 0, len(timing.by))
	for _, t := range timing.by {
		ts = append(ts, *t)
	}
	slices.SortFunc(ts, mostTimeFirst)
	return ts
}

// mostTimeFirst orders op times by time, longest first, then by label.
func mostTimeFirst(a, b OpTime) int {
	return cmp.Or(cmp.Compare(b.Seconds, a.Seconds), cmp.Compare(a.Label, b.Label))
}

// SubOpTimes returns after minus before, label by label, dropping labels
// that did not run in between, most time first.
func SubOpTimes(after, before []OpTime) []OpTime {
	prev := map[string]OpTime{}
	for _, t := range before {
		prev[t.Label] = t
	}
	var d []OpTime
	for _, t := range after {
		p := prev[t.Label]
		if t.Calls > p.Calls {
			d = append(d, OpTime{Label: t.Label, Calls: t.Calls - p.Calls, Seconds: t.Seconds - p.Seconds, FLOPs: t.FLOPs - p.FLOPs})
		}
	}
	slices.SortFunc(d, mostTimeFirst)
	return d
}

// run runs o's plan, timing it when timing is on.
func (o *Op) run(out []float32, in [][]float32) {
	if !timing.on.Load() {
		o.P.Run(out, in)
		return
	}
	start := time.Now()
	o.P.Run(out, in)
	d := time.Since(start).Seconds()
	label := o.P.Label
	if label == "" {
		label = o.Name
	}
	if o.P.Shape != "" && timing.byShape.Load() {
		label += " " + o.P.Shape
	}
	timing.Lock()
	defer timing.Unlock()
	if timing.by == nil {
		return
	}
	t := timing.by[label]
	if t == nil {
		t = &OpTime{Label: label}
		timing.by[label] = t
	}
	t.Calls++
	t.Seconds += d
	t.FLOPs += o.P.FLOPs
}
