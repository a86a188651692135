package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/roentgen-dev/roentgen/internal/diffusers"
	"github.com/roentgen-dev/roentgen/internal/pipeline"
	"github.com/spf13/cobra"
)

func (a *app) infoCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info",
		Short: "Describe a pipeline: family, components, parameters, scheduler, default size, memory",
		Long: `info loads a diffusers pipeline folder, checks every config and weight against the
model it describes, and prints its family (SD 1.x or 2.x), each component's parameter
count and stored dtype, the scheduler and prediction type, the default image size and
an estimate of the memory a guided 512x512 generation needs.`,
		RunE: func(*cobra.Command, []string) error {
			m, err := a.load()
			if err != nil {
				return err
			}
			defer m.Close()
			d, err := pipeline.Describe(m)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(d)
			}
			return printInfo(a.stdout, d)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// load opens the --model folder (or the demo model, saying so unless
// a.quiet) and loads its networks.
func (a *app) load() (*pipeline.Models, error) {
	var notice io.Writer = a.stderr
	if a.quiet {
		notice = nil
	}
	f, err := pipeline.OpenFolder(a.model, notice)
	if err != nil {
		return nil, fmt.Errorf("loading model: %w", err)
	}
	if err := a.checkTextEncoder(f); err != nil {
		return nil, err
	}
	m, err := pipeline.Load(f, pipeline.LoadOptions{Variant: a.variant, TextEncoder: a.textEncoder})
	if err != nil {
		return nil, fmt.Errorf("loading model: %w", err)
	}
	return m, nil
}

// checkTextEncoder refuses a --text-encoder that names no folder of f as a
// usage error.
func (a *app) checkTextEncoder(f *diffusers.Folder) error {
	if a.textEncoder == "" || a.textEncoder == pipeline.DefaultTextEncoder {
		return nil
	}
	if err := pipeline.CheckTextEncoder(f, a.textEncoder); err != nil {
		if a.textEncoderFrom != "" {
			return usagef("--from %s: the image was made with the text encoder in %s/, which %s lacks (%v): pass --text-encoder",
				a.textEncoderFrom, a.textEncoder, f.Name, err)
		}
		return UsageError{err}
	}
	return nil
}

// loadPipeline loads the model and prepares a pipeline over it, printing
// how outdated configs were mended unless quiet.
func (a *app) loadPipeline(quiet bool) (*pipeline.Pipeline, error) {
	a.quiet = quiet
	m, err := a.load()
	if err != nil {
		return nil, err
	}
	p, err := pipeline.New(m)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("loading model: %w", err)
	}
	for _, n := range p.Notes {
		if !quiet {
			fmt.Fprintf(a.stderr, "roentgen: note: %s\n", n)
		}
	}
	return p, nil
}

func printInfo(w io.Writer, d pipeline.Description) error {
	var b strings.Builder
	fmt.Fprintf(&b, "model:       %s\n", d.Model)
	fmt.Fprintf(&b, "pipeline:    %s (diffusers %s)\n", d.Pipeline, d.DiffusersVersion)
	fmt.Fprintf(&b, "family:      %s\n", d.Family)
	fmt.Fprintf(&b, "components:\n")
	width := len(d.Tokenizer.Folder) // of the name column: 13, or a longer folder name
	for _, c := range d.Components {
		width = max(width, len(c.Name), 13)
	}
	for _, c := range d.Components {
		fmt.Fprintf(&b, "  %-*s %-22s %15s params  %s\n", width, c.Name, c.Class, thousands(c.Params), strings.Join(c.DTypes, "+"))
	}
	fmt.Fprintf(&b, "  %-*s %-22s vocab %d, max length %d, pad %q\n", width, d.Tokenizer.Folder, d.Tokenizer.Class, d.Tokenizer.Vocab, d.Tokenizer.MaxLength, d.Tokenizer.Pad)
	fmt.Fprintf(&b, "scheduler:   %s, prediction %s\n", d.Scheduler, d.Prediction)
	fmt.Fprintf(&b, "image size:  %dx%d (latent %dx%d)\n", d.Width, d.Height, d.Width/d.VAEScale, d.Height/d.VAEScale)
	e := d.Memory512
	fmt.Fprintf(&b, "memory:      about %s at the peak of a guided 512x512 image (denoising: weights %s + activations %s; decoding: VAE weights %s + activations %s)\n",
		gib(e.Total), gib(e.Weights), gib(e.UNet), gib(e.VAEWeights), gib(e.VAE))
	for _, n := range d.Notes {
		fmt.Fprintf(&b, "note:        %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// thousands formats n with comma separators, as the fixture README does.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	var out []byte
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

func gib(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	default:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	}
}
