package pipeline

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/roentgen-dev/roentgen/internal/clip"
	"github.com/roentgen-dev/roentgen/internal/diffusers"
	"github.com/roentgen-dev/roentgen/internal/weights"
)

// DefaultTextEncoder is the text encoder folder diffusers'
// StableDiffusionPipeline loads.
const DefaultTextEncoder = "text_encoder"

// RoentGenTextEncoder is where RoentGen's training code (RoentGen-v2's
// pipeline.py) saves the text encoder and tokenizer it trained, next to a
// text_encoder/ and tokenizer/ that keep the base model's: the authors'
// inference scripts read this folder, diffusers the other.
const RoentGenTextEncoder = "text_encoder_and_tokenizer"

// CheckTextEncoder refuses a --text-encoder value that is not a folder
// of f.
func CheckTextEncoder(f *diffusers.Folder, name string) error {
	if name == "." || name == ".." || strings.ContainsAny(name, `/\`) {
		return fmt.Errorf("--text-encoder %q: give the name of a folder inside %s, such as %s", name, f.Name, RoentGenTextEncoder)
	}
	if !f.IsDir(name) {
		return fmt.Errorf("--text-encoder %s: %s is not a folder", name, f.Path(name))
	}
	file, data, err := f.Config(name)
	if err != nil {
		return fmt.Errorf("--text-encoder %s: %w", name, err)
	}
	var c struct {
		ModelType string `json:"model_type"`
		Class     string `json:"_class_name"`
	}
	if json.Unmarshal(data, &c) != nil || c.ModelType != "clip_text_model" {
		what := fmt.Sprintf("model_type %q", c.ModelType)
		if c.Class != "" {
			what = "a diffusers " + c.Class
		}
		return fmt.Errorf("--text-encoder %s: %s holds %s, not a CLIP text encoder (model_type \"clip_text_model\")", name, file, what)
	}
	return nil
}

// TokenizerFolder is the folder the tokenizer of text encoder folder
// textEncoder is read from: that folder itself when it holds a vocabulary
// (vocab.json, or a fast tokenizer's tokenizer.json; RoentGenTextEncoder
// does), else tokenizer/.
func TokenizerFolder(f *diffusers.Folder, textEncoder string) string {
	if textEncoder != "" && textEncoder != DefaultTextEncoder && (f.IsFile(textEncoder, "vocab.json") || f.IsFile(textEncoder, "tokenizer.json")) {
		return textEncoder
	}
	return "tokenizer"
}

// otherTextEncoderNote says, when f also holds RoentGenTextEncoder next to
// the text_encoder/ whose weights are set, whether it holds other weights
// (and how to use them), or that it cannot be run; "" when it holds the
// same text encoder or no text encoder at all.
func otherTextEncoderNote(f *diffusers.Folder, set *weights.Set, variant string) string {
	alt := RoentGenTextEncoder
	if !f.IsFile(alt, "config.json") {
		return ""
	}
	file, data, err := f.Config(alt)
	if err == nil {
		_, _, err = clip.ParseConfig(file, data)
	}
	if err != nil {
		return fmt.Sprintf("%s holds a text encoder roentgen cannot run (%v); using %s/, as diffusers' StableDiffusionPipeline does", f.Path(alt), err, DefaultTextEncoder)
	}
	other, _, err := f.Weights(alt, variant)
	if err != nil {
		return fmt.Sprintf("%s could not be compared with %s/ (%v); using %s/, as diffusers' StableDiffusionPipeline does", f.Path(alt), DefaultTextEncoder, err, DefaultTextEncoder)
	}
	defer other.Close()
	if sameTextWeights(set, other) {
		return otherTokenizerNote(f, alt)
	}
	return fmt.Sprintf("%s/ holds another text encoder than %s/ (RoentGen's training code saves the text encoder it fine-tuned there, and the authors' inference scripts use it): "+
		"roentgen uses %s/ and tokenizer/, as diffusers' StableDiffusionPipeline does; --text-encoder %s uses the other",
		alt, DefaultTextEncoder, DefaultTextEncoder, alt)
}

// otherTokenizerNote says whether folder alt, whose text encoder is
// text_encoder/'s, holds a tokenizer that tokenizes otherwise than
// tokenizer/ (another model_max_length, say), and how to use it; "" when
// it holds none or the same.
func otherTokenizerNote(f *diffusers.Folder, alt string) string {
	if TokenizerFolder(f, alt) != alt {
		return ""
	}
	a, errA := loadTokenizerFrom(f, "tokenizer")
	b, errB := loadTokenizerFrom(f, alt)
	if errA != nil || errB != nil {
		return "" // New reports the default tokenizer's error; the other is only read with --text-encoder
	}
	same := a.VocabSize() == b.VocabSize() && a.MaxLength() == b.MaxLength() && a.PadID() == b.PadID() &&
		a.BosID() == b.BosID() && a.EosID() == b.EosID()
	for _, text := range tokenizerProbes {
		same = same && slices.Equal(a.Encode(text).IDs, b.Encode(text).IDs)
	}
	if same {
		return ""
	}
	return fmt.Sprintf("%s/ holds the text encoder of %s/ but another tokenizer than tokenizer/ (RoentGen's training code saves its tokenizer there): "+
		"roentgen uses tokenizer/, as diffusers' StableDiffusionPipeline does; --text-encoder %s uses the other", alt, DefaultTextEncoder, alt)
}

// tokenizerProbes are texts two tokenizers must encode alike to count as
// the same: radiology words, punctuation, digits, a special token, and one
// longer than 77 tokens.
var tokenizerProbes = []string{
	"Large right-sided pleural effusion. Cardiomegaly! 50 year old White female, no pneumothorax?",
	"<|endoftext|> AP portable view (ICU): ET tube 4.5 cm above the carina; NG tube in the stomach.",
	strings.Repeat("Bibasilar atelectasis, ", 30),
}

// sameTextWeights reports whether two text encoders hold the same weights,
// bit for bit, or up to the rounding of the coarser dtype of a tensor
// stored in two dtypes (one may be a float16 copy of the other): the same tensor names and shapes, and the
// same values in every tensor of at most sampleElems elements (the norms
// and biases, which fine-tuning moves too) and in the first layer's query
// projection. Reading those keeps the comparison to a few megabytes.
func sameTextWeights(a, b *weights.Set) bool {
	const sampleElems = 1 << 16
	names := floatNames(a)
	if !slices.Equal(names, floatNames(b)) {
		return false
	}
	for _, n := range names {
		ia, fa, _ := a.Info(n)
		ib, fb, _ := b.Info(n)
		if !slices.Equal(ia.Shape, ib.Shape) {
			return false
		}
		if ia.Numel() > sampleElems && !strings.HasSuffix(n, "layers.0.self_attn.q_proj.weight") {
			continue
		}
		x, errA := fa.Float32(n)
		y, errB := fb.Float32(n)
		if errA != nil || errB != nil {
			return false
		}
		tol := 0.0 // two copies in one dtype compare exactly
		if ia.DType != ib.DType {
			tol = max(roundingOf(ia.DType), roundingOf(ib.DType))
		}
		for i := range x {
			if d := math.Abs(float64(x[i]) - float64(y[i])); d > tol*max(math.Abs(float64(x[i])), math.Abs(float64(y[i])), 1e-4) {
				return false
			}
		}
	}
	return true
}

// floatNames lists the set's floating-point tensors (the parameters:
// transformers before 4.31 also saved an integer position_ids buffer).
func floatNames(s *weights.Set) []string {
	var names []string
	for _, n := range s.Names() {
		if in, _, _ := s.Info(n); in.DType.IsFloat() {
			names = append(names, n)
		}
	}
	return names
}

// roundingOf is the relative rounding error of storing a float32 as d.
func roundingOf(d weights.DType) float64 {
	switch d {
	case weights.F16:
		return 1.0 / 1024
	case weights.BF16:
		return 1.0 / 128
	}
	return 0
}
