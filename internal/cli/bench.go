package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"time"

	"github.com/roentgen-dev/roentgen/internal/graph/ops"
	"github.com/roentgen-dev/roentgen/internal/kernels"
	"github.com/roentgen-dev/roentgen/internal/pipeline"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// benchResult is what `roentgen bench --json` prints.
type benchResult struct {
	Model           string         `json:"model"`
	Width           int            `json:"width"`
	Height          int            `json:"height"`
	Steps           int            `json:"steps"`
	Threads         int            `json:"threads"`
	MicroKernel     string         `json:"micro_kernel"` // e.g. "avx2 6x16"
	CPU             string         `json:"cpu"`          // the processor's model name, when the OS tells it
	BatchSize       int            `json:"batch_size"`   // images per guided step (U-Net batch 2·batch_size)
	LoadS           float64        `json:"load_s"`
	TextEncoderS    float64        `json:"text_encoder_s"`
	UNetStepS       float64        `json:"unet_step_s"` // median guided step (two U-Net evaluations)
	UNetFirstStepS  float64        `json:"unet_first_step_s"`
	UNetStepImageS  float64        `json:"unet_step_per_image_s"` // unet_step_s / batch_size
	VAEDecodeS      float64        `json:"vae_decode_s"`          // one image (the mean over the batch)
	UNetGFLOPs      float64        `json:"unet_gflop_per_step"`
	UNetGFLOPsOnce  float64        `json:"unet_gflop_once"` // added to the first step: the prompt's cross-attention keys and values
	UNetGFLOPS      float64        `json:"unet_gflop_s"`
	VAEGFLOPs       float64        `json:"vae_gflop"`
	VAEGFLOPS       float64        `json:"vae_gflop_s"`
	PeakRSSBytes    int64          `json:"peak_rss_bytes"`
	EstimateBytes   int64          `json:"estimated_peak_bytes"` // what generate checks against the machine's memory
	WeightBytes     int64          `json:"weight_bytes"`         // weights as held (mapped fp16/f32)
	UNetArenaBytes  int64          `json:"unet_arena_bytes"`     // activations of the compiled U-Net
	VAEArenaBytes   int64          `json:"vae_arena_bytes"`      // activations of the compiled VAE decoder
	Image25S        float64        `json:"image_25_steps_s"`     // estimated image of 25 steps: text encoder + 25 steps per image + decode
	Image75S        float64        `json:"image_75_steps_s"`     // the same at generate's default 75 steps
	TotalS          float64        `json:"total_s"`
	UNetOps         []ops.OpTime   `json:"unet_ops,omitempty"` // with --ops: every step's ops, the first step's included
	VAEOps          []ops.OpTime   `json:"vae_ops,omitempty"`
	Scaling         *scalingResult `json:"scaling,omitempty"` // with --scaling
	RoentgenVersion string         `json:"roentgen"`
}

// imageSeconds estimates one image of n guided steps from the measured
// stages: the text encoder, n median steps per image and the decode (a
// PNDM schedule makes one U-Net call more than its steps; not counted).
func (r benchResult) imageSeconds(n int) float64 {
	return r.TextEncoderS + float64(n)*r.UNetStepImageS + r.VAEDecodeS
}

func (a *app) benchCmd() *cobra.Command {
	var (
		w, h, steps, threads  int
		batchSize             int
		asJSON, byOp, byShape bool
		scaling               bool
		profile, memProfile   string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Time the text encoder, guided U-Net steps and VAE decode, with GFLOP/s and peak memory",
		Long: `bench loads the pipeline, encodes a prompt, runs N guided denoising steps (each two
U-Net evaluations, batch 2) and one VAE decode, and reports per stage the time (median
step), the GFLOP/s achieved and the peak resident memory of the process.

--batch-size B denoises B images per step (U-Net batch 2B), as roentgen batch
--batch-size B does, and also reports the step time per image: run it with a few
values to choose the batch size with the best throughput on a machine.

--scaling records how long every task of every parallel loop took (the steps after
the first, and the decode) and replays them on 1-64 threads: how far more cores
could speed this run up given how the work splits, and which kernels would leave
threads idle. Shared caches and memory bandwidth are not modelled, so on a real
machine the speed-up is lower; run it with --threads N to compare with N cores.`,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			byOp = byOp || byShape
			switch {
			case batchSize < 1 || batchSize > pipeline.MaxImages:
				return usagef("--batch-size must be between 1 and %d, got %d", pipeline.MaxImages, batchSize)
			case threads < 0 || threads > maxThreads:
				return usagef("--threads must be between 1 and %d (0: all cores), got %d", maxThreads, threads)
			case steps < 1:
				return usagef("--steps must be at least 1, got %d", steps)
			}
			if threads > 0 {
				kernels.SetThreads(threads)
			}
			if profile != "" {
				f, err := os.Create(profile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			if memProfile != "" {
				mf, cerr := os.Create(memProfile) // now, so that a bad path fails before the run
				if cerr != nil {
					return fmt.Errorf("--memprofile: %w", cerr)
				}
				defer func() {
					if werr := writeHeapProfile(mf); err == nil && werr != nil {
						err = fmt.Errorf("--memprofile %s: %w", memProfile, werr)
					}
				}()
			}
			start := time.Now()
			p, err := a.loadPipeline(false)
			if err != nil {
				return err
			}
			defer p.Close()
			m := p.Models
			r := benchResult{Model: m.Folder.Name, Steps: steps, Threads: kernels.Threads(), MicroKernel: kernels.MicroKernel(), CPU: cpuName(), BatchSize: batchSize, LoadS: time.Since(start).Seconds(), RoentgenVersion: VersionString()}
			r.Width, r.Height = m.DefaultSize()
			if w > 0 {
				r.Width = w
			}
			if h > 0 {
				r.Height = h
			}
			if scaling && steps < 2 {
				return UsageError{fmt.Errorf("--scaling needs --steps 2 or more (the first step is not traced)")}
			}
			var tracer scalingTracer
			var stepTimes []float64
			var last time.Duration
			snaps := map[string][]ops.OpTime{}
			if byOp {
				ops.TimeOps(true, byShape)
				defer ops.TimeOps(false, false)
			}
			o := pipeline.Options{Prompt: "Large right-sided pleural effusion. Cardiomegaly.", Steps: steps, Guidance: 4,
				Scheduler: "ddim", Width: r.Width, Height: r.Height, NumImages: batchSize, Seed: 1}
			o.Progress = func(e pipeline.Event) {
				if scaling {
					tracer.event(e)
				}
				if e.Stage == "denoise" && e.Step > 0 {
					stepTimes = append(stepTimes, (e.Elapsed - last).Seconds())
					last = e.Elapsed
				}
				if byOp && e.Done {
					snaps[e.Stage] = ops.OpTimes()
				}
				if !asJSON && e.Done {
					fmt.Fprintf(a.stderr, "%-8s %8.2fs\n", e.Stage, e.Elapsed.Seconds())
				}
			}
			if err := p.Validate(o); err != nil {
				return UsageError{err}
			}
			res, err := p.Generate(o)
			if err != nil {
				return err
			}
			r.TextEncoderS = res.Stages["encode"].Seconds()
			r.VAEDecodeS = res.Stages["decode"].Seconds() / float64(batchSize)
			r.UNetFirstStepS = stepTimes[0]
			if len(stepTimes) > 1 {
				stepTimes = stepTimes[1:] // the first step also compiles the graph
			}
			sort.Float64s(stepTimes)
			r.UNetStepS = stepTimes[(len(stepTimes)-1)/2]
			r.UNetStepImageS = r.UNetStepS / float64(batchSize)
			r.Image25S, r.Image75S = r.imageSeconds(25), r.imageSeconds(75)
			_, us, vs := p.Stats()
			uf, vf := us.FLOPs, vs.FLOPs
			r.UNetGFLOPs, r.VAEGFLOPs = float64(uf)/1e9, float64(vf)/1e9 // the batch-2B program is the whole guided step; the VAE decodes one image
			r.UNetGFLOPsOnce = float64(us.SlowFLOPs) / 1e9
			r.UNetGFLOPS = r.UNetGFLOPs / r.UNetStepS
			r.VAEGFLOPS = r.VAEGFLOPs / r.VAEDecodeS
			r.PeakRSSBytes = peakRSS()
			r.UNetArenaBytes, r.VAEArenaBytes = us.ArenaBytes, vs.ArenaBytes
			e, err := m.EstimateMemory(r.Width, r.Height, 2*batchSize)
			if err != nil {
				return err
			}
			r.WeightBytes, r.EstimateBytes = e.Weights, e.Total
			r.TotalS = time.Since(start).Seconds()
			if byOp {
				r.UNetOps = ops.SubOpTimes(snaps["denoise"], snaps["encode"])
				r.VAEOps = ops.SubOpTimes(snaps["decode"], snaps["denoise"])
			}
			if scaling {
				r.Scaling = tracer.result(steps, batchSize)
			}
			if asJSON {
				return json.NewEncoder(a.stdout).Encode(r)
			}
			fmt.Fprintf(a.stdout, "model %s, %dx%d, %d guided steps, %d threads (%s, %s micro-kernel)\n", r.Model, r.Width, r.Height, r.Steps, r.Threads, runtime.GOARCH, r.MicroKernel)
			if r.CPU != "" {
				fmt.Fprintf(a.stdout, "cpu %s\n", r.CPU)
			}
			fmt.Fprintf(a.stdout, "  load           %7.2f s\n", r.LoadS)
			fmt.Fprintf(a.stdout, "  text encoder   %7.2f s\n", r.TextEncoderS)
			which := fmt.Sprintf("median of steps after the first (first %.2f s)", r.UNetFirstStepS)
			if r.Steps == 1 {
				which = "the only step, which includes the first call's setup (time more steps for a median)"
			}
			fmt.Fprintf(a.stdout, "  U-Net step     %7.2f s %s, %.0f GFLOP, %.0f GFLOP/s (the first also %.1f GFLOP of prompt keys and values)\n", r.UNetStepS, which, r.UNetGFLOPs, r.UNetGFLOPS, r.UNetGFLOPsOnce)
			if batchSize > 1 {
				fmt.Fprintf(a.stdout, "                 %7.2f s per image (batch of %d)\n", r.UNetStepImageS, batchSize)
			}
			fmt.Fprintf(a.stdout, "  VAE decode     %7.2f s per image, %.0f GFLOP, %.0f GFLOP/s\n", r.VAEDecodeS, r.VAEGFLOPs, r.VAEGFLOPS)
			fmt.Fprintf(a.stdout, "  peak RSS       %7.2f GiB (estimate %.2f GiB; weights %.2f GiB, U-Net arena %.2f GiB, VAE arena %.2f GiB)\n", float64(r.PeakRSSBytes)/(1<<30),
				float64(r.EstimateBytes)/(1<<30), float64(r.WeightBytes)/(1<<30), float64(r.UNetArenaBytes)/(1<<30), float64(r.VAEArenaBytes)/(1<<30))
			fmt.Fprintf(a.stdout, "  per image      %7.1f s with 25 steps, %.1f s with 75 (generate's default), estimated: text encoder + steps + decode\n", r.Image25S, r.Image75S)
			if byOp {
				writeOpTimes(a.stdout, "U-Net, per guided step (mean of all steps)", r.UNetOps, r.Steps)
				writeOpTimes(a.stdout, "VAE decode", r.VAEOps, 1)
			}
			if scaling {
				writeScaling(a.stdout, r.Scaling)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&w, "width", 0, "image width (default: the model's native size)")
	fl.IntVar(&h, "height", 0, "image height (default: the model's native size)")
	fl.IntVar(&steps, "steps", 3, "guided steps to time (the median is reported)")
	fl.IntVar(&threads, "threads", 0, "worker threads (default: all cores)")
	fl.IntVar(&batchSize, "batch-size", 1, "images denoised together per step (U-Net batch 2B), as in roentgen batch")
	fl.BoolVar(&asJSON, "json", false, "print one JSON object")
	fl.StringVar(&profile, "cpuprofile", "", "write a Go CPU profile (go tool pprof) to this file")
	fl.StringVar(&memProfile, "memprofile", "", "write a Go heap profile (allocations since start; go tool pprof) to this file at the end")
	fl.BoolVar(&byOp, "ops", false, "also time every graph op and report the U-Net and VAE time by op kind")
	fl.BoolVar(&byShape, "ops-shapes", false, "like --ops, with each op kind split by operand shape (layer sizes, heads, pixels)")
	fl.BoolVar(&scaling, "scaling", false, "also project the step and decode times to 1-64 threads from how this run's work splits into tasks")
	return cmd
}

// writeHeapProfile writes the heap profile to f and closes it.
func writeHeapProfile(f *os.File) error {
	err := pprof.WriteHeapProfile(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeOpTimes prints a table of op times divided by n.
func writeOpTimes(w io.Writer, title string, ts []ops.OpTime, n int) {
	total := 0.0
	for _, t := range ts {
		total += t.Seconds
	}
	fmt.Fprintf(w, "  %s: %.2f s in ops\n", title, total/float64(n))
	width := 28
	for _, t := range ts {
		width = max(width, len(t.Label))
	}
	fmt.Fprintf(w, "    %-*s %6s %8s %6s %8s\n", width, "op", "calls", "seconds", "share", "GFLOP/s")
	for _, t := range ts {
		rate := "-"
		if t.FLOPs > 0 && t.Seconds > 0 {
			rate = fmt.Sprintf("%.0f", float64(t.FLOPs)/t.Seconds/1e9)
		}
		fmt.Fprintf(w, "    %-*s %6d %8.3f %5.1f%% %8s\n", width, t.Label, t.Calls/n, t.Seconds/float64(n), 100*t.Seconds/total, rate)
	}
}

// peakRSS is the process's peak resident set size in bytes (getrusage's
// maximum RSS, which Linux and FreeBSD count in KiB and macOS in bytes); 0
// if unknown.
func peakRSS() int64 {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return int64(ru.Maxrss) * maxrssUnit
}
