package cli

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/roentgen-dev/roentgen/internal/kernels"
	"github.com/roentgen-dev/roentgen/internal/pipeline"
)

// scalingThreads are the thread counts bench --scaling projects.
var scalingThreads = []int{1, 2, 4, 8, 16, 32, 64}

// scalingResult is bench --scaling's projection of the stage times to
// other thread counts (see stageTrace.project).
type scalingResult struct {
	Threads    []int     `json:"threads"`
	UNetStepS  []float64 `json:"unet_step_s"`  // per guided step after the first
	VAEDecodeS []float64 `json:"vae_decode_s"` // per image
	// Time outside parallel loops (the same on any number of threads).
	UNetSerialS float64 `json:"unet_serial_s"`
	VAESerialS  float64 `json:"vae_serial_s"`
	// On lossThreads threads, the time each kernel's loops take beyond an
	// even split of their work, largest first.
	UNetLoss []kernelLoss `json:"unet_loss"`
	VAELoss  []kernelLoss `json:"vae_loss"`
}

// lossThreads is the thread count whose uneven splits bench --scaling
// itemises.
const lossThreads = 16

// kernelLoss is one kernel's time lost to uneven splits (see scalingResult).
type kernelLoss struct {
	Func    string  `json:"func"`
	Seconds float64 `json:"s"`
}

// stageTrace records the parallel loops of one stage.
type stageTrace struct {
	start time.Time
	wall  time.Duration
	loops []kernels.Loop
}

func (s *stageTrace) begin() {
	kernels.TraceLoops(true)
	s.start = time.Now()
}

func (s *stageTrace) end() {
	s.wall = time.Since(s.start)
	s.loops = kernels.TracedLoops()
	kernels.TraceLoops(false)
}

// project is the stage's time on n threads: the time outside parallel
// loops as measured, plus each loop's makespan on n threads from its
// traced task times. It counts only how the work is split into tasks, so
// it is an upper bound on the speed-up (tasks slow down as threads share
// caches and memory bandwidth).
func (s *stageTrace) project(n int) time.Duration {
	par := time.Duration(0)
	for _, l := range s.loops {
		par += l.Makespan(n)
	}
	return s.serial() + par
}

// serial is the stage's time outside parallel loops.
func (s *stageTrace) serial() time.Duration {
	t := s.wall
	for _, l := range s.loops {
		t -= l.Wall
	}
	return max(t, 0)
}

// losses sums, per kernel function, each loop's makespan on n threads
// less its work divided by n, divided by per; largest first.
func (s *stageTrace) losses(n int, per float64) []kernelLoss {
	by := map[string]float64{}
	for _, l := range s.loops {
		var work time.Duration
		for _, d := range l.Tasks {
			work += d
		}
		by[l.Func] += l.Makespan(n).Seconds() - work.Seconds()/float64(n)
	}
	var ls []kernelLoss
	for f, d := range by {
		ls = append(ls, kernelLoss{f, d / per})
	}
	sort.Slice(ls, func(i, j int) bool {
		return ls[i].Seconds > ls[j].Seconds || ls[i].Seconds == ls[j].Seconds && ls[i].Func < ls[j].Func
	})
	return ls
}

// scalingTracer traces the U-Net steps after the first and the decode.
type scalingTracer struct{ unet, vae stageTrace }

func (t *scalingTracer) event(e pipeline.Event) {
	switch {
	case e.Stage == "denoise" && e.Step == 1:
		t.unet.begin()
	case e.Stage == "denoise" && e.Done:
		t.unet.end()
	case e.Stage == "decode" && !e.Done:
		t.vae.begin()
	case e.Stage == "decode" && e.Done:
		t.vae.end()
	}
}

// result projects the traced stages: the U-Net over steps-1 steps, the
// decode over batch images.
func (t *scalingTracer) result(steps, batch int) *scalingResult {
	us, vs := float64(steps-1), float64(batch)
	r := &scalingResult{Threads: scalingThreads, UNetSerialS: t.unet.serial().Seconds() / us, VAESerialS: t.vae.serial().Seconds() / vs,
		UNetLoss: t.unet.losses(lossThreads, us), VAELoss: t.vae.losses(lossThreads, vs)}
	for _, n := range scalingThreads {
		r.UNetStepS = append(r.UNetStepS, t.unet.project(n).Seconds()/us)
		r.VAEDecodeS = append(r.VAEDecodeS, t.vae.project(n).Seconds()/vs)
	}
	return r
}

// writeScaling prints the projection with each count's efficiency
// (one-thread time / (n × n-thread time)).
func writeScaling(w io.Writer, r *scalingResult) {
	fmt.Fprintf(w, "  thread scaling projected from this run's task times (the split into tasks only; shared caches and memory bandwidth not modelled):\n")
	fmt.Fprintf(w, "    %-14s", "threads")
	for _, n := range r.Threads {
		fmt.Fprintf(w, " %7d", n)
	}
	fmt.Fprintln(w)
	for _, row := range []struct {
		name string
		s    []float64
	}{{"U-Net step", r.UNetStepS}, {"VAE decode", r.VAEDecodeS}} {
		fmt.Fprintf(w, "    %-14s", row.name+" s")
		for _, s := range row.s {
			fmt.Fprintf(w, " %7.2f", s)
		}
		fmt.Fprintf(w, "\n    %-14s", "  efficiency")
		for i, s := range row.s {
			fmt.Fprintf(w, " %6.0f%%", 100*row.s[0]/(float64(r.Threads[i])*s))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "    outside parallel loops: U-Net %.2f s per step, VAE %.2f s\n", r.UNetSerialS, r.VAESerialS)
	for _, row := range []struct {
		name string
		ls   []kernelLoss
	}{{"U-Net step", r.UNetLoss}, {"VAE decode", r.VAELoss}} {
		total := 0.0
		for _, l := range row.ls {
			total += l.Seconds
		}
		fmt.Fprintf(w, "    %s on %d threads, beyond an even split: %.2f s;", row.name, lossThreads, total)
		for _, l := range row.ls[:min(4, len(row.ls))] {
			fmt.Fprintf(w, " %s %.3f", l.Func, l.Seconds)
		}
		fmt.Fprintln(w)
	}
}
