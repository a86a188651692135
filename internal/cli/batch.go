package cli

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/roentgen-dev/roentgen/internal/batch"
	"github.com/roentgen-dev/roentgen/internal/imageio"
	"github.com/roentgen-dev/roentgen/internal/kernels"
	"github.com/roentgen-dev/roentgen/internal/pipeline"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"
)

// batchFlags are batch's flags: generate's image settings plus the dataset.
type batchFlags struct {
	g                                   genFlags
	prompts, out, column, shard, format string
	perPrompt, batchSize, shards        int
	shardsSet, resume                   bool
}

func (a *app) batchCmd() *cobra.Command {
	var f batchFlags
	cmd := &cobra.Command{
		Use:   "batch --prompts FILE --out DIR",
		Short: "Generate a synthetic dataset from a prompt file: resumable, sharded, PNG or DICOM",
		Long: `batch makes --images-per-prompt images for every row of a prompt file (CSV with a
header, JSONL, or one prompt per line) into --out, with a manifest.jsonl line per
finished image. Item (row, image) has seed (--seed + row*images-per-prompt + image)
mod 2^32, so any image can be remade alone with generate --seed and the same flags,
whatever the sharding, batch size or restarts.

A killed run loses at most the images in flight: run the same command again and it
resumes from the manifest, checking every finished file's SHA-256. --shard I/N (or
Slurm array / Kubernetes Indexed Job variables) splits the items across machines;
"roentgen manifest merge" joins the shard manifests. See docs/batch.md.`,
		Example: `  roentgen batch --model models/roentgen-v2 --prompts prompts.csv --out cxr --steps 50
  roentgen batch --prompts impressions.txt --out cxr --images-per-prompt 4 --batch-size 4 --format dcm
  roentgen batch --prompts prompts.jsonl --out cxr --shard 3/8`,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.batch(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.prompts, "prompts", "", "prompt file: .csv (header row), .jsonl/.ndjson or .txt (one prompt per line); other names are sniffed (required)")
	fl.StringVar(&f.out, "out", "", "output folder for images and manifest, created if missing (required)")
	fl.StringVar(&f.column, "prompt-column", "prompt", "CSV column or JSONL key holding the prompt")
	fl.IntVar(&f.perPrompt, "images-per-prompt", 1, fmt.Sprintf("images per prompt row, each with its own seed (at most %d, and %d items in all)", batch.MaxImagesPerPrompt, batch.MaxItems))
	fl.IntVar(&f.batchSize, "batch-size", 1, "images denoised together in one U-Net batch (does not change any image)")
	fl.StringVar(&f.shard, "shard", "", "make only shard I/N: the items whose index % N == I; overrides the environment (default: from Slurm/Kubernetes variables, else all)")
	fl.IntVar(&f.shards, "shards", 0, "shard count N for a Kubernetes Indexed Job (the shard is $JOB_COMPLETION_INDEX); in a Slurm array it must equal SLURM_ARRAY_TASK_COUNT")
	fl.BoolVar(&f.resume, "resume", false, "require an existing manifest to resume (a run always resumes when one exists)")
	fl.StringVar(&f.format, "format", "png", "png (parameters in tEXt) or dcm (DICOM Secondary Capture, gray only)")
	fl.Uint64Var(&f.g.seed, "seed", 0, "base seed: item (row, image) uses (seed + row*images-per-prompt + image) mod 2^32")
	addImageFlags(fl, &f.g)
	return cmd
}

// checkBatchFlags validates the flags that need no model and finds the shard.
func checkBatchFlags(f *batchFlags) (imageio.Format, batch.Shard, error) {
	format, err := outputFormat(f.g.color, f.g.bitDepth)
	if err != nil {
		return 0, batch.Shard{}, err
	}
	switch {
	case f.prompts == "":
		return 0, batch.Shard{}, usagef("--prompts is required")
	case f.out == "":
		return 0, batch.Shard{}, usagef("--out is required")
	case f.format != "png" && f.format != "dcm":
		return 0, batch.Shard{}, usagef("--format must be png or dcm, got %q", f.format)
	case f.format == "dcm" && f.g.color != "gray":
		return 0, batch.Shard{}, usagef("--format dcm writes MONOCHROME2 images: use --color gray")
	case f.perPrompt < 1:
		return 0, batch.Shard{}, usagef("--images-per-prompt must be at least 1, got %d", f.perPrompt)
	case f.perPrompt > batch.MaxImagesPerPrompt:
		return 0, batch.Shard{}, usagef("--images-per-prompt must be at most %d, got %d (a bound no dataset reaches, that keeps the item list small)", batch.MaxImagesPerPrompt, f.perPrompt)
	case f.batchSize < 1:
		return 0, batch.Shard{}, usagef("--batch-size must be at least 1, got %d", f.batchSize)
	case f.batchSize > pipeline.MaxImages:
		return 0, batch.Shard{}, usagef("--batch-size must be at most %d, got %d", pipeline.MaxImages, f.batchSize)
	case f.g.threads < 0 || f.g.threads > maxThreads:
		return 0, batch.Shard{}, usagef("--threads must be between 1 and %d (0: all cores), got %d", maxThreads, f.g.threads)
	case f.shardsSet && f.shards < 1:
		return 0, batch.Shard{}, usagef("--shards must be at least 1, got %d", f.shards)
	case f.shard != "" && f.shardsSet:
		return 0, batch.Shard{}, usagef("--shard and --shards exclude each other")
	}
	if f.shard != "" {
		s, err := batch.ParseShard(f.shard)
		if err != nil {
			return 0, batch.Shard{}, usagef("--shard: %v", err)
		}
		return format, s, nil
	}
	s, _, err := batch.ShardFromEnv(os.Getenv, f.shards)
	if err != nil {
		return 0, batch.Shard{}, usagef("shard: %v", err)
	}
	return format, s, nil
}

func (a *app) batch(cmd *cobra.Command, f batchFlags) error {
	start := time.Now()
	f.shardsSet = cmd.Flags().Changed("shards")
	format, shard, err := checkBatchFlags(&f)
	if err != nil {
		return err
	}
	if f.g.threads > 0 {
		kernels.SetThreads(f.g.threads)
	}
	prompts, err := batch.Read(f.prompts, f.column)
	if err != nil {
		return fmt.Errorf("reading prompts: %w", err)
	}
	if rows := len(prompts.Rows); rows > batch.MaxItems/f.perPrompt {
		return usagef("--images-per-prompt %d: %d rows of %s make %d items, more than the %d a batch may have (a bound no dataset reaches, that keeps the item list small; seeds repeat after 2^32 items anyway): split the prompt file",
			f.perPrompt, rows, f.prompts, rows*f.perPrompt, batch.MaxItems)
	}
	if prompts.NameNote != "" && !f.g.quiet {
		fmt.Fprintf(a.stderr, "roentgen: note: %s\n", prompts.NameNote)
	}
	if _, err := os.Stat(filepath.Join(f.out, shard.ManifestName())); f.resume && err != nil {
		return fmt.Errorf("--resume: %w (a first run needs no --resume)", err)
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	if err := checkOutDir(filepath.Join(f.out, "probe")); err != nil {
		return err
	}
	p, err := a.loadPipeline(f.g.quiet)
	if err != nil {
		return err
	}
	defer p.Close()
	m := p.Models
	opts := batchOptions(cmd, f, m)
	check := opts
	check.NumImages = f.batchSize // the U-Net denoises this many images at once: the memory check needs them all
	if err := p.Validate(check); err != nil {
		return UsageError{err}
	}
	job := &batch.Job{Dir: f.out, Prompts: prompts, Shard: shard, Ext: "." + f.format, Model: m.Folder.Name, Version: VersionString(),
		Settings: batch.Settings{ModelFingerprint: m.Fingerprint(), TextEncoder: textEncoderSetting(m), Steps: opts.Steps, Guidance: opts.Guidance,
			Scheduler: schedulerName(p, opts), ModelScheduler: opts.Scheduler == "" && p.SchedulerMended(), Eta: opts.Eta, Width: opts.Width, Height: opts.Height,
			Color: f.g.color, BitDepth: f.g.bitDepth, Format: f.format, NegativePrompt: f.g.negative,
			BaseSeed: f.g.seed, ImagesPerPrompt: f.perPrompt, PromptColumn: prompts.Column}}
	plan, err := job.Start()
	if err != nil {
		return fmt.Errorf("resuming: %w", err)
	}
	defer plan.Manifest.Close()
	w := &batchWriter{a: a, p: p, job: job, plan: plan, opts: opts, f: f, format: format}
	stop := watchSignals(a.stderr, func(sig os.Signal) {
		if isTerminal(a.stderr) {
			fmt.Fprintln(a.stderr) // end the progress line
		}
		fmt.Fprintf(a.stderr, "roentgen: %s: finishing the images in flight, then stopping (again to abandon them)\n", signalName(sig))
	})
	defer stop.release()
	// The plan line comes after the handler, so that a script (or test)
	// that waits for it before signalling never meets the default action.
	a.reportPlan(job, plan, f.g.quiet)
	prog := newBatchProgress(a.stderr, f.g.quiet, plan)
	for i := 0; i < len(plan.Todo); i += f.batchSize {
		if s := stop.received(); s != nil {
			return fmt.Errorf("batch interrupted by %s: %d of %d images of shard %s done, %s is consistent; run the same command again to resume",
				signalName(s), prog.done, plan.Items, shard, plan.Manifest.Path)
		}
		if err := w.run(plan.Todo[i:min(i+f.batchSize, len(plan.Todo))], prog); err != nil {
			return err
		}
	}
	prog.finish()
	fmt.Fprintf(a.stderr, "roentgen: batch done: %d of %d images of shard %s in %s (%d made now, %d before, %d redone), %.1f images/min; manifest %s; %.1fs\n",
		prog.done, plan.Items, shard, f.out, prog.made, plan.Done, len(plan.Redo), prog.rate(), plan.Manifest.Path, time.Since(start).Seconds())
	return nil
}

// batchOptions are the pipeline options common to every item.
func batchOptions(cmd *cobra.Command, f batchFlags, m *pipeline.Models) pipeline.Options {
	w, h := m.DefaultSize()
	if f.g.width > 0 || cmd.Flags().Changed("width") {
		w = f.g.width
	}
	if f.g.height > 0 || cmd.Flags().Changed("height") {
		h = f.g.height
	}
	return pipeline.Options{NegativePrompt: f.g.negative, Steps: f.g.steps, Guidance: f.g.guidance, Scheduler: f.g.scheduler,
		Eta: f.g.eta, Width: w, Height: h, NumImages: 1}
}

// schedulerName is the scheduler a run uses, as params records it.
func schedulerName(p *pipeline.Pipeline, o pipeline.Options) string {
	if o.Scheduler != "" {
		return o.Scheduler
	}
	return p.Scheduler.ClassName
}

func (a *app) reportPlan(job *batch.Job, plan *batch.Plan, quiet bool) {
	if quiet {
		return
	}
	for i, r := range plan.Redo {
		if i == 10 {
			fmt.Fprintf(a.stderr, "roentgen: redoing %d more finished images\n", len(plan.Redo)-10)
			break
		}
		fmt.Fprintf(a.stderr, "roentgen: redoing a finished image: %s\n", r)
	}
	if plan.Cleaned > 0 {
		fmt.Fprintf(a.stderr, "roentgen: removed %d temporary files left by an interrupted run\n", plan.Cleaned)
	}
	fmt.Fprintf(a.stderr, "roentgen: %s: %d rows, shard %s of %d items: %d done, %d to make, into %s\n",
		job.Prompts.Path, len(job.Prompts.Rows), job.Shard, plan.Items, plan.Done, len(plan.Todo), job.Dir)
}

// batchWriter generates items and records each finished image.
type batchWriter struct {
	a      *app
	p      *pipeline.Pipeline
	job    *batch.Job
	plan   *batch.Plan
	opts   pipeline.Options
	f      batchFlags
	format imageio.Format
}

// run denoises items in one batch, then writes each image atomically and
// appends its manifest line.
func (w *batchWriter) run(items []batch.Item, prog *batchProgress) error {
	in := make([]pipeline.Item, len(items))
	for i, it := range items {
		in[i] = pipeline.Item{Prompt: w.job.Prompts.Rows[it.Row].Prompt, NegativePrompt: w.opts.NegativePrompt, Seed: w.job.Seed(it)}
	}
	o := w.opts
	if !w.f.g.quiet {
		o.Warn = w.a.stderr
	}
	res, err := w.p.GenerateItems(in, o)
	if err != nil {
		return fmt.Errorf("generating row %d image %d: %w", items[0].Row, items[0].Image, err)
	}
	if len(res.Images) != len(items) {
		return fmt.Errorf("generating: %d images for %d items", len(res.Images), len(items))
	}
	for i, it := range items {
		o.Prompt, o.Seed = in[i].Prompt, in[i].Seed
		name := w.job.FileName(it)
		sum, size, err := batch.WriteFile(w.job.Dir, name, w.encoder(res.Images[i], o, res, it))
		if err != nil {
			return fmt.Errorf("writing %s: %w", filepath.Join(w.job.Dir, name), err)
		}
		if err := w.plan.Manifest.Append(w.job.Line(it, sum, size, time.Now())); err != nil {
			return fmt.Errorf("writing manifest: %w", err)
		}
		prog.add()
	}
	return nil
}

// encoder writes one image: the PNG generate would write for the item's
// prompt and seed (same parameters, so the same bytes), or a DICOM file.
func (w *batchWriter) encoder(img imageio.Image, o pipeline.Options, res *pipeline.Result, it batch.Item) func(io.Writer) error {
	params := w.a.params(w.p, o, res, w.f.g)
	params["image_index"] = 0
	return imageEncoder(w.f.format, w.format, w.f.g.bitDepth, img, params, w.job.Prompts.PatientID(it))
}

// signals records the first SIGINT or SIGTERM; a second one ends the
// process at once with status 128+signal, abandoning the work in flight.
// The handler stays installed for that: restoring the default action
// would leave the signal ignored when the process started with it
// ignored (nohup, a background job of a non-interactive shell).
type signals struct {
	ch   chan os.Signal
	done chan struct{}
	got  atomic.Value
}

// watchSignals calls first (from another goroutine) on the first signal.
func watchSignals(stderr io.Writer, first func(os.Signal)) *signals {
	s := &signals{ch: make(chan os.Signal, 2), done: make(chan struct{})}
	signal.Notify(s.ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		select {
		case sig := <-s.ch:
			s.got.Store(sig)
			first(sig)
		case <-s.done:
			return
		}
		select {
		case sig := <-s.ch:
			select {
			case <-s.done: // the run ended meanwhile: let it return its own status
				return
			default:
			}
			fmt.Fprintf(stderr, "roentgen: %s again: abandoning the work in flight\n", signalName(sig))
			n, _ := sig.(syscall.Signal)
			os.Exit(128 + int(n))
		case <-s.done:
		}
	}()
	return s
}

// signalName is "SIGINT", "SIGTERM", ...
func signalName(s os.Signal) string {
	if n, ok := s.(syscall.Signal); ok && unix.SignalName(n) != "" {
		return unix.SignalName(n)
	}
	return s.String()
}

func (s *signals) received() os.Signal {
	if v, ok := s.got.Load().(os.Signal); ok {
		return v
	}
	return nil
}

func (s *signals) release() {
	signal.Stop(s.ch)
	close(s.done)
}

// batchProgress shows images done/total, images per minute and the ETA:
// redrawn on a terminal, elsewhere as log lines at most one every
// logEvery (see progress).
type batchProgress struct {
	w          io.Writer
	mode       progressMode
	logEvery   time.Duration
	start      time.Time
	lastLog    time.Time
	done, made int
	total      int
}

func newBatchProgress(w io.Writer, quiet bool, plan *batch.Plan) *batchProgress {
	now := time.Now()
	return &batchProgress{w: w, mode: modeFor(w, quiet), logEvery: logEvery, start: now, lastLog: now, done: plan.Done, total: plan.Items}
}

func (b *batchProgress) rate() float64 {
	if b.made == 0 {
		return 0
	}
	return float64(b.made) / time.Since(b.start).Minutes()
}

func (b *batchProgress) add() {
	b.done++
	b.made++
	left := eta(b.made, b.made+b.total-b.done, time.Since(b.start))
	switch b.mode {
	case progressTerminal:
		fmt.Fprintf(b.w, "\rbatch [%s] %d/%d images  %.1f images/min  ETA %s ", bar(b.done, b.total),
			b.done, b.total, b.rate(), left)
	case progressLog:
		if b.done == b.total || time.Since(b.lastLog) < b.logEvery {
			return // the summary line follows the last image
		}
		b.lastLog = time.Now()
		fmt.Fprintf(b.w, "roentgen: batch %d/%d images, %.2f images/min, ETA %s\n", b.done, b.total, b.rate(), left)
	}
}

func (b *batchProgress) finish() {
	if b.mode == progressTerminal && b.made > 0 {
		fmt.Fprintln(b.w)
	}
}

// textEncoderSetting is the text encoder folder a manifest records: "" for
// the default, so that manifests of runs without --text-encoder stay as
// they were.
func textEncoderSetting(m *pipeline.Models) string {
	if m.TextEncoderFolder == pipeline.DefaultTextEncoder {
		return ""
	}
	return m.TextEncoderFolder
}
