package cli

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/roentgen-dev/roentgen/internal/demo"
	"github.com/roentgen-dev/roentgen/internal/imageio"
	"github.com/roentgen-dev/roentgen/internal/kernels"
	"github.com/roentgen-dev/roentgen/internal/pipeline"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// genFlags are generate's flags; batch reuses the image settings.
type genFlags struct {
	prompt, negative, scheduler, out, color, from string
	format                                        string
	seed                                          uint64
	steps, width, height, numImages, bitDepth     int
	threads                                       int
	guidance, eta                                 float64
	quiet                                         bool
}

func (a *app) generateCmd() *cobra.Command {
	var f genFlags
	cmd := &cobra.Command{
		Use:   "generate --prompt TEXT",
		Short: "Generate synthetic chest X-rays from a radiology impression",
		Long: `generate runs the text-to-image pipeline: it encodes the prompt (and the negative
prompt for classifier-free guidance), draws the latents from a PyTorch-compatible seed,
denoises with the scheduler and decodes with the VAE. The same model, prompt, seed and
settings give the image diffusers' StableDiffusionPipeline gives.

Every PNG carries its generation parameters in a tEXt chunk; --from IMAGE regenerates
an image from them (flags given explicitly override them).`,
		Example: `  roentgen generate --prompt "Large right-sided pleural effusion." --seed 42 --out effusion.png
  roentgen generate --model models/roentgen-v2 --prompt "Cardiomegaly." --steps 25 --num-images 4 --out cm.png
  roentgen generate --from cm-2.png --out again.png`,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.generate(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.prompt, "prompt", "", "the radiology text to render (required)")
	fl.Uint64Var(&f.seed, "seed", 0, "PyTorch CPU generator seed (default: random, printed and recorded)")
	fl.IntVar(&f.numImages, "num-images", 1, "images to generate from one latent draw (out.png becomes out-0.png, out-1.png, ...)")
	fl.StringVar(&f.out, "out", "", "output file, .png or .dcm (default roentgen-SEED.png, or .dcm with --format dcm)")
	fl.StringVar(&f.from, "from", "", "take the generation parameters from a PNG written by roentgen")
	fl.StringVar(&f.format, "format", "png", "png (parameters in tEXt) or dcm (DICOM Secondary Capture, gray, marked synthetic)")
	addImageFlags(fl, &f)
	return cmd
}

// addImageFlags declares the image settings that generate and batch share.
func addImageFlags(fl *pflag.FlagSet, f *genFlags) {
	fl.StringVar(&f.negative, "negative-prompt", "", "what to steer away from (used with guidance > 1)")
	fl.IntVar(&f.steps, "steps", 75, "denoising steps (num_inference_steps)")
	fl.Float64Var(&f.guidance, "guidance", 4.0, "classifier-free guidance scale; <= 1 disables guidance")
	fl.StringVar(&f.scheduler, "scheduler", "", "ddim, pndm, pndm-prk, euler, euler-a, dpm++2m, dpm++2m-karras, lms, or a diffusers class name (default: the model's own)")
	fl.Float64Var(&f.eta, "eta", 0, "DDIM eta (0 = deterministic)")
	fl.IntVar(&f.width, "width", 0, "image width, a multiple of 8 (default: the model's native size)")
	fl.IntVar(&f.height, "height", 0, "image height, a multiple of 8 (default: the model's native size)")
	fl.StringVar(&f.color, "color", "gray", "gray (ITU-R 601 luma, as Pillow's convert(\"L\")) or rgb (diffusers' RGB image)")
	fl.IntVar(&f.bitDepth, "bit-depth", 8, "8 or 16 bits per sample (16 is computed from the float image)")
	fl.IntVar(&f.threads, "threads", 0, "worker threads (default: all cores); results are identical for any value")
	fl.BoolVar(&f.quiet, "quiet", false, "print only the final summary")
}

func (a *app) generate(cmd *cobra.Command, f genFlags) error {
	var rec recorded
	if f.from != "" {
		var err error
		if rec, err = applyFrom(cmd, &f); err != nil {
			return err
		}
		if rec.implicit, err = a.fromModel(cmd, rec); err != nil {
			return err
		}
		if rec.textEncoder != "" {
			a.textEncoder, a.textEncoderFrom = rec.textEncoder, f.from
		}
	}
	seedSet := cmd.Flags().Changed("seed") || f.from != ""
	format, err := outputFormat(f.color, f.bitDepth)
	if err != nil {
		return err
	}
	if ext := strings.ToLower(filepath.Ext(f.out)); !cmd.Flags().Changed("format") && ext == ".dcm" {
		f.format = "dcm" // --out x.dcm
	} else if f.out != "" && (ext == ".dcm" && f.format == "png" || ext == ".png" && f.format == "dcm") {
		return usagef("--out %s does not match --format %s", f.out, f.format)
	}
	if f.format != "png" && f.format != "dcm" {
		return usagef("--format must be png or dcm, got %q", f.format)
	}
	if ext := strings.ToLower(filepath.Ext(f.out)); ext != "" && ext != ".png" && ext != ".dcm" {
		return usagef("--out %s: roentgen writes .png or .dcm files", f.out)
	}
	if f.format == "dcm" && f.color != "gray" {
		return usagef("--format dcm writes MONOCHROME2 images: use --color gray")
	}
	if strings.TrimSpace(f.prompt) == "" && !cmd.Flags().Changed("prompt") && !rec.prompt {
		return usagef("--prompt is required")
	}
	if f.numImages < 1 || f.numImages > pipeline.MaxImages { // before numbering the outputs
		return usagef("--num-images must be between 1 and %d, got %d", pipeline.MaxImages, f.numImages)
	}
	if f.threads < 0 || f.threads > maxThreads {
		return usagef("--threads must be between 1 and %d (0: all cores), got %d", maxThreads, f.threads)
	}
	if f.threads > 0 {
		kernels.SetThreads(f.threads)
	}
	if !seedSet {
		var b [4]byte
		if _, err := crand.Read(b[:]); err != nil {
			return err
		}
		f.seed = uint64(binary.LittleEndian.Uint32(b[:]))
	}
	if f.out == "" {
		f.out = fmt.Sprintf("roentgen-%d.%s", f.seed, f.format)
	}
	// --from an image of a multi-image draw remakes that image alone
	// (unless --num-images asks for the whole draw again).
	var only []int
	if rec.of > 1 && !cmd.Flags().Changed("num-images") {
		only = []int{rec.index}
	}
	n := f.numImages
	if only != nil {
		n = 1
	}
	paths, err := outputPaths(f.out, max(1, n))
	if err != nil {
		return err
	}
	if err := checkOutDir(paths[0]); err != nil {
		return err
	}
	start := time.Now()
	p, err := a.loadPipeline(f.quiet)
	if err != nil {
		return err
	}
	defer p.Close()
	m := p.Models
	w, h := m.DefaultSize()
	if f.width > 0 || cmd.Flags().Changed("width") {
		w = f.width
	}
	if f.height > 0 || cmd.Flags().Changed("height") {
		h = f.height
	}
	// Other weights in the recorded folder are an error; other weights the
	// user asked for (--model, --text-encoder) a warning.
	if rec.fingerprint != "" && rec.fingerprint != m.Fingerprint() && rec.implicit && !cmd.Flags().Changed("text-encoder") {
		return usagef("--from %s: the model at %s, recorded in the image, has other weights than those that made it (fingerprint %s, the image's %s): pass --model DIR",
			f.from, m.Folder.Name, m.Fingerprint(), rec.fingerprint)
	}
	if rec.fingerprint != "" && rec.fingerprint != m.Fingerprint() && !f.quiet {
		fmt.Fprintf(a.stderr, "roentgen: warning: --from %s: the image was made by other weights (fingerprint %s, this model's is %s): the result will differ\n",
			f.from, rec.fingerprint, m.Fingerprint())
	}
	opts := pipeline.Options{Prompt: f.prompt, NegativePrompt: f.negative, Seed: f.seed, Steps: f.steps, Guidance: f.guidance,
		Scheduler: f.scheduler, Eta: f.eta, Width: w, Height: h, NumImages: f.numImages, Images: only, Warn: a.stderr}
	if f.quiet {
		opts.Warn = nil
	}
	if err := p.Validate(opts); err != nil {
		return UsageError{err}
	}

	prog := newProgress(a.stderr, f.quiet)
	opts.Progress = prog.event
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := watchSignals(a.stderr, func(os.Signal) { cancel() })
	defer sigs.release()
	opts.Ctx = ctx
	res, err := p.Generate(opts)
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("generating: interrupted; no image was written")
	}
	if err != nil {
		return fmt.Errorf("generating: %w", err)
	}
	params := a.params(p, opts, res, f)
	for i, img := range res.Images {
		params["image_index"] = i
		if only != nil {
			params["image_index"] = only[i]
		}
		err := imageio.WriteFileAtomic(paths[i], imageEncoder(f.format, format, f.bitDepth, img, params, ""))
		if err != nil {
			return fmt.Errorf("writing %s: %w", paths[i], err)
		}
	}
	fmt.Fprintf(a.stderr, "roentgen: wrote %s (%dx%d, seed %d, %d steps, %s, guidance %g) in %.1fs\n",
		strings.Join(paths, ", "), w, h, f.seed, f.steps, params["scheduler"], f.guidance, time.Since(start).Seconds())
	return nil
}

// params are the generation parameters recorded in every image: enough to
// regenerate it with --from.
func (a *app) params(p *pipeline.Pipeline, o pipeline.Options, res *pipeline.Result, f genFlags) map[string]any {
	sched := o.Scheduler
	if sched == "" {
		sched = p.Scheduler.ClassName
	}
	params := map[string]any{
		"prompt": o.Prompt, "negative_prompt": o.NegativePrompt, "seed": o.Seed, "steps": o.Steps,
		"guidance": o.Guidance, "scheduler": sched, "eta": o.Eta, "width": o.Width, "height": o.Height,
		"num_images": o.NumImages, "model": p.Models.Folder.Name, "model_fingerprint": p.Models.Fingerprint(),
		"color": f.color, "bit_depth": f.bitDepth, "roentgen": VersionString(), "synthetic": true,
	}
	if te := textEncoderSetting(p.Models); te != "" {
		params["text_encoder"] = te
	}
	if o.Scheduler == "" && p.SchedulerMended() {
		// The model's own scheduler with a mended config (fixups.go):
		// --from must not rebuild it as --scheduler CLASS.
		params["model_scheduler"] = true
	}
	return params
}

func outputFormat(color string, depth int) (imageio.Format, error) {
	switch {
	case color == "gray" && depth == 8:
		return imageio.Gray8Bit, nil
	case color == "gray" && depth == 16:
		return imageio.Gray16Bit, nil
	case color == "rgb" && depth == 8:
		return imageio.RGB8Bit, nil
	case color == "rgb" && depth == 16:
		return imageio.RGB16Bit, nil
	case color != "gray" && color != "rgb":
		return 0, usagef("--color must be gray or rgb, got %q", color)
	}
	return 0, usagef("--bit-depth must be 8 or 16, got %d", depth)
}

// maxThreads bounds --threads.
const maxThreads = 1024

// fromModel makes --from use the model recorded in the image when --model
// is not given on the command line (the demo model, or a folder that must
// still be there), and reports whether it did.
func (a *app) fromModel(cmd *cobra.Command, rec recorded) (bool, error) {
	if rec.model == "" || cmd.Flags().Changed("model") {
		return false, nil
	}
	if rec.model == demo.Name {
		a.model = ""
		return true, nil
	}
	if st, err := os.Stat(rec.model); err != nil || !st.IsDir() {
		return false, usagef("--from: the image was made with the model %s (weights fingerprint %s), which is not there: pass --model DIR", rec.model, rec.fingerprint)
	}
	a.model = rec.model
	return true, nil
}

// outputPaths returns the files n images go to (out, or out-0, out-1, ...
// before the extension), each followed if it is a symlink, and fails before
// any work if one is a directory or not a regular file (renaming the
// finished image over a device or FIFO would replace it).
func outputPaths(out string, n int) ([]string, error) {
	paths := imageio.NumberedPaths(out, n)
	for i, p := range paths {
		st, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", p, err)
		}
		if st.Mode()&fs.ModeSymlink != 0 {
			target, err := filepath.EvalSymlinks(p)
			if err != nil {
				return nil, usagef("output %s is a symlink that does not lead to a file (missing target or a loop): give a file path", p)
			}
			if st, err = os.Stat(target); err != nil {
				return nil, fmt.Errorf("output %s: %w", p, err)
			}
			paths[i] = target
		}
		switch {
		case st.IsDir():
			return nil, usagef("output %s is a directory: give a file path, e.g. %s", p, filepath.Join(p, "image.png"))
		case !st.Mode().IsRegular():
			return nil, usagef("output %s exists and is not a regular file (%s): give a file path", p, fileKind(st.Mode()))
		}
	}
	return paths, nil
}

// fileKind names a non-regular file mode for errors.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "mode " + m.Type().String()
}

// checkOutDir fails early when the output folder does not exist or is not
// writable, before any computation.
func checkOutDir(out string) error {
	dir := filepath.Dir(out)
	probe, err := createProbe(dir)
	if err != nil {
		return fmt.Errorf("output folder %s: %w", dir, err)
	}
	return probe()
}
