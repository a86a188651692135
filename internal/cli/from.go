package cli

import (
	"fmt"
	"math"
	"os"
	"strconv"

	"github.com/roentgen-dev/roentgen/internal/imageio"
	"github.com/spf13/cobra"
)

// recorded is what --from takes from an image besides the generate flags.
type recorded struct {
	prompt             bool   // the image records a prompt (possibly empty)
	model, fingerprint string // the model folder (or demo.Name) and its weights' fingerprint
	textEncoder        string // the text encoder folder, if not the default
	index, of          int    // the image's index in its draw of num_images (of 0 if unknown)
	implicit           bool   // the model was taken from the image, not given with --model
}

// applyFrom fills every generate flag the user did not set from the
// parameters recorded in a roentgen PNG, and returns the rest of what it
// records.
func applyFrom(cmd *cobra.Command, f *genFlags) (recorded, error) {
	var rec recorded
	p, err := imageio.ReadParams(f.from)
	if err != nil {
		return rec, fmt.Errorf("--from: %w", err)
	}
	set := func(flag string, apply func(v any) error) error {
		v, ok := p[flag]
		if !ok || cmd.Flags().Changed(flagName(flag)) {
			return nil
		}
		if err := apply(v); err != nil {
			return fmt.Errorf("--from %s: parameter %q: %w", f.from, flag, err)
		}
		return nil
	}
	str := func(dst *string) func(any) error {
		return func(v any) error {
			s, ok := v.(string)
			if !ok {
				return fmt.Errorf("want a string, got %v", v)
			}
			*dst = s
			return nil
		}
	}
	num := func(dst *float64) func(any) error {
		return func(v any) error {
			n, ok := v.(float64)
			if !ok {
				return fmt.Errorf("want a number, got %v", v)
			}
			*dst = n
			return nil
		}
	}
	integer := func(dst *int) func(any) error {
		return func(v any) error {
			var n float64
			if err := num(&n)(v); err != nil {
				return err
			}
			if n != math.Trunc(n) || math.Abs(n) > 1<<31 {
				return fmt.Errorf("want an integer, got %v", v)
			}
			*dst = int(n)
			return nil
		}
	}
	var seed float64
	steps := []error{
		set("prompt", str(&f.prompt)), set("negative_prompt", str(&f.negative)), set("scheduler", str(&f.scheduler)),
		set("color", str(&f.color)), set("guidance", num(&f.guidance)), set("eta", num(&f.eta)),
		set("steps", integer(&f.steps)), set("width", integer(&f.width)), set("height", integer(&f.height)),
		set("num_images", integer(&f.numImages)), set("bit_depth", integer(&f.bitDepth)), set("seed", num(&seed)),
	}
	var index, of int
	steps = append(steps, set("model", str(&rec.model)), set("model_fingerprint", str(&rec.fingerprint)), set("text_encoder", str(&rec.textEncoder)),
		set("image_index", integer(&index)))
	if _, ok := p["num_images"]; ok {
		steps = append(steps, integer(&of)(p["num_images"]))
	}
	for _, err := range steps {
		if err != nil {
			return rec, err
		}
	}
	if _, ok := p["image_index"]; ok && (index < 0 || index >= max(of, 1)) {
		return rec, fmt.Errorf("--from %s: parameter \"image_index\" %d is outside the draw of num_images %d", f.from, index, of)
	}
	if of > 1 {
		rec.index, rec.of = index, of
	}
	if own, _ := p["model_scheduler"].(bool); own && !cmd.Flags().Changed("scheduler") {
		f.scheduler = "" // the model's own scheduler, with its config mended as at first
	}
	_, rec.prompt = p["prompt"]
	if _, ok := p["seed"]; ok && !cmd.Flags().Changed("seed") {
		// JSON numbers are float64; seeds above 2^53 are written exactly
		// as integers and parsed back through their text.
		s, err := strconv.ParseUint(strconv.FormatFloat(seed, 'f', -1, 64), 10, 64)
		if err != nil {
			return rec, fmt.Errorf("--from %s: parameter \"seed\": %v", f.from, err)
		}
		f.seed = s
	}
	return rec, nil
}

// flagName maps a recorded parameter to its flag.
func flagName(param string) string {
	switch param {
	case "negative_prompt":
		return "negative-prompt"
	case "num_images":
		return "num-images"
	case "bit_depth":
		return "bit-depth"
	case "text_encoder":
		return "text-encoder"
	}
	return param
}

// createProbe checks that dir exists and accepts new files by creating and
// removing a temporary file; the returned function reports removal errors.
func createProbe(dir string) (func() error, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("not a directory")
	}
	f, err := os.CreateTemp(dir, ".roentgen-probe*")
	if err != nil {
		return nil, fmt.Errorf("not writable: %w", err)
	}
	f.Close()
	return func() error { return os.Remove(f.Name()) }, nil
}
