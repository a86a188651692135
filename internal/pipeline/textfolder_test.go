package pipeline

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/diffusers"
	"github.com/roentgen-dev/roentgen/internal/golden"
	"github.com/roentgen-dev/roentgen/internal/weights"
	"github.com/x448/float16"
)

// encodeWith is the text encoder's output for prompt under o.
func encodeWith(t *testing.T, dir string, o LoadOptions, prompt string) ([]float32, *Pipeline) {
	t.Helper()
	p := openPipelineWith(t, dir, o)
	e, err := p.Encode(prompt, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e, p
}

// TestRoentGenTextEncoderFolder: a text_encoder_and_tokenizer/ holding the
// same weights as text_encoder/ goes unmentioned; one holding other
// weights gets a note naming --text-encoder, and --text-encoder selects
// it: its weights (another encoding) and its tokenizer (another
// model_max_length).
func TestRoentGenTextEncoderFolder(t *testing.T) {
	const prompt = "Large right-sided pleural effusion."
	src := golden.Path(t, "tiny-sd1")
	base, _ := encodeWith(t, src, LoadOptions{}, prompt)

	same := golden.WithTextEncoderCopy(t, src, RoentGenTextEncoder, true, func(string, []float32) {})
	e, p := encodeWith(t, same, LoadOptions{}, prompt)
	if len(p.Notes) != 0 || !slices.Equal(e, base) {
		t.Errorf("same weights: notes %q, encoding equal %v", p.Notes, slices.Equal(e, base))
	}
	e, p = encodeWith(t, same, LoadOptions{TextEncoder: RoentGenTextEncoder}, prompt)
	m := p.Models
	if !slices.Equal(e, base) || m.TextEncoderFolder != RoentGenTextEncoder || m.TokenizerFolder != RoentGenTextEncoder || m.Components[0].Name != RoentGenTextEncoder {
		t.Errorf("--text-encoder on the same weights: encoding equal %v, folders %s %s, component %s",
			slices.Equal(e, base), m.TextEncoderFolder, m.TokenizerFolder, m.Components[0].Name)
	}

	retok := golden.WithTextEncoderCopy(t, src, RoentGenTextEncoder, true, func(string, []float32) {})
	editFile(t, filepath.Join(retok, RoentGenTextEncoder, "tokenizer_config.json"), `"model_max_length": 77`, `"model_max_length": 20`)
	_, p = encodeWith(t, retok, LoadOptions{}, prompt)
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "another tokenizer") || p.Tokenizer.MaxLength() != 77 {
		t.Errorf("same weights, other tokenizer: notes %q, max length %d", p.Notes, p.Tokenizer.MaxLength())
	}

	tuned := golden.WithTextEncoderCopy(t, src, RoentGenTextEncoder, true, func(n string, v []float32) {
		if n == "text_model.final_layer_norm.bias" {
			v[3] += 0.5
		}
	})
	editFile(t, filepath.Join(tuned, RoentGenTextEncoder, "tokenizer_config.json"), `"model_max_length": 77`, `"model_max_length": 20`)
	e, p = encodeWith(t, tuned, LoadOptions{}, prompt)
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "--text-encoder "+RoentGenTextEncoder) || !slices.Equal(e, base) || p.Tokenizer.MaxLength() != 77 {
		t.Errorf("other weights, default: notes %q, encoding equal %v, max length %d", p.Notes, slices.Equal(e, base), p.Tokenizer.MaxLength())
	}
	e, p = encodeWith(t, tuned, LoadOptions{TextEncoder: RoentGenTextEncoder}, prompt)
	if len(p.Notes) != 0 || slices.Equal(e[:len(base)*20/77], base[:len(base)*20/77]) || p.Tokenizer.MaxLength() != 20 {
		t.Errorf("--text-encoder: notes %q, encoding unchanged %v, max length %d", p.Notes, slices.Equal(e, base), p.Tokenizer.MaxLength())
	}
}

// TestTextEncoderFolderErrors: --text-encoder must name a folder inside the
// model; a RoentGen folder roentgen cannot run is noted, not fatal; a
// text encoder folder without a vocabulary takes tokenizer/.
func TestTextEncoderFolderErrors(t *testing.T) {
	src := golden.Path(t, "tiny-sd1")
	f, err := diffusers.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"../tiny-sd2": "inside", "missing": "is not a folder", "model_index.json": "is not a folder",
		"unet": "a diffusers UNet2DConditionModel", "scheduler": "a diffusers PNDMScheduler", "tokenizer": "config.json: missing"} {
		if _, err := Load(f, LoadOptions{TextEncoder: name}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--text-encoder %s: %v, want %q", name, err, want)
		}
		if _, err := LoadTokenizer(f, name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("tokenizer of --text-encoder %s: %v, want %q", name, err, want)
		}
	}
	bert := golden.WithTextEncoderCopy(t, src, RoentGenTextEncoder, false, func(string, []float32) {})
	write(t, filepath.Join(bert, RoentGenTextEncoder, "config.json"), `{"model_type": "bert"}`)
	p := openPipelineWith(t, bert, LoadOptions{})
	if len(p.Notes) != 1 || !strings.Contains(p.Notes[0], "cannot run") || !strings.Contains(p.Notes[0], `"bert"`) {
		t.Errorf("BERT text encoder: notes %q", p.Notes)
	}
	plain := golden.WithTextEncoderCopy(t, src, "text_encoder_2", false, func(n string, v []float32) { v[0] = 1 })
	p = openPipelineWith(t, plain, LoadOptions{TextEncoder: "text_encoder_2"})
	if p.Models.TokenizerFolder != "tokenizer" || len(p.Notes) != 0 {
		t.Errorf("folder without a vocabulary: tokenizer from %s, notes %q", p.Models.TokenizerFolder, p.Notes)
	}
	// A fast tokenizer's tokenizer.json alone is a vocabulary too.
	var vocab map[string]int
	data, err := os.ReadFile(filepath.Join(src, "tokenizer", "vocab.json"))
	if err == nil {
		err = json.Unmarshal(data, &vocab)
	}
	if err != nil {
		t.Fatal(err)
	}
	merges, err := os.ReadFile(filepath.Join(src, "tokenizer", "merges.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(merges)), "\n")[1:]
	fast, err := json.Marshal(map[string]any{"model": map[string]any{"type": "BPE", "vocab": vocab, "merges": lines, "end_of_word_suffix": "</w>"}})
	if err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(plain, "text_encoder_2", "tokenizer.json"), string(fast))
	write(t, filepath.Join(plain, "text_encoder_2", "tokenizer_config.json"), `{"model_max_length": 20}`)
	p = openPipelineWith(t, plain, LoadOptions{TextEncoder: "text_encoder_2"})
	if p.Models.TokenizerFolder != "text_encoder_2" || p.Tokenizer.MaxLength() != 20 {
		t.Errorf("folder with tokenizer.json: tokenizer from %s, max length %d", p.Models.TokenizerFolder, p.Tokenizer.MaxLength())
	}
}

// TestSameTextWeights compares small sets: equal, a float16 copy (equal up
// to its rounding), a float16 copy with a change beyond it, a tensor
// missing, another shape, and an integer buffer only one of them has.
func TestSameTextWeights(t *testing.T) {
	v := []float32{1, -2.5, 0.1, 3e-3, 0}
	set := func(dt weights.DType, vals []float32, shape []int, extra bool) *weights.Set {
		rec := func(name string, dt weights.DType, shape []int, vals []float32) weights.Record {
			r := weights.Record{Name: name, DType: dt, Shape: shape}
			for _, x := range vals {
				if dt == weights.F16 {
					r.Data = binary.LittleEndian.AppendUint16(r.Data, float16.Fromfloat32(x).Bits())
				} else {
					r.Data = binary.LittleEndian.AppendUint32(r.Data, math.Float32bits(x))
				}
			}
			return r
		}
		records := []weights.Record{rec("a.weight", dt, shape, vals), rec("b.bias", weights.F32, []int{2}, []float32{7, 8})}
		if extra {
			records = append(records, weights.Record{Name: "position_ids", DType: weights.DType("I64"), Shape: []int{1}, Data: make([]byte, 8)})
		}
		var b bytes.Buffer
		if err := weights.Write(&b, records, nil); err != nil {
			t.Fatal(err)
		}
		f, err := weights.Parse("test", b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		s, err := weights.NewSet(f)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	base := set(weights.F32, v, []int{5}, false)
	half := set(weights.F16, v, []int{5}, false)
	ulp := slices.Clone(v)
	ulp[1] = float16.Frombits(float16.Fromfloat32(v[1]).Bits() + 1).Float32()
	changed := slices.Clone(v)
	changed[2] *= 1.01
	for _, c := range []struct {
		name  string
		other *weights.Set
		same  bool
		base  *weights.Set // nil: base
	}{
		{"equal", set(weights.F32, v, []int{5}, false), true, nil},
		{"float16 copy", set(weights.F16, v, []int{5}, false), true, nil},
		{"float16 copy of other values", set(weights.F16, changed, []int{5}, false), false, nil},
		{"float32 of other values", set(weights.F32, changed, []int{5}, false), false, nil},
		{"float16 against float16 one ulp away", set(weights.F16, ulp, []int{5}, false), false, half},
		{"float16 against float32 one float16 ulp away", set(weights.F16, ulp, []int{5}, false), true, base},
		{"other shape", set(weights.F32, v, []int{1, 5}, false), false, nil},
		{"position_ids", set(weights.F32, v, []int{5}, true), true, nil},
	} {
		b := c.base
		if b == nil {
			b = base
		}
		if got := sameTextWeights(b, c.other); got != c.same {
			t.Errorf("%s: same %v, want %v", c.name, got, c.same)
		}
	}
	var b bytes.Buffer
	var data []byte
	for _, x := range v {
		data = binary.LittleEndian.AppendUint32(data, math.Float32bits(x))
	}
	if err := weights.Write(&b, []weights.Record{{Name: "a.weight", DType: weights.F32, Shape: []int{5}, Data: data}}, nil); err != nil {
		t.Fatal(err)
	}
	f, _ := weights.Parse("missing", b.Bytes())
	missing, _ := weights.NewSet(f)
	if sameTextWeights(base, missing) || sameTextWeights(missing, base) {
		t.Error("a tensor missing: same")
	}
}

// TestCurrentlySavedFolder: tiny-sd2 as current diffusers and transformers
// save it (RoentGen-v2's era: the VAE's newer config keys, newer versions,
// and the tokenizer in the format of transformers 4.34 and later, with
// added_tokens_decoder and the added_tokens.json some versions wrote)
// makes the same image, bit for bit, as the fixture saved by diffusers
// 0.25 and transformers 4.33.
func TestCurrentlySavedFolder(t *testing.T) {
	src := golden.Path(t, "tiny-sd2")
	dir := copyFixture(t, "tiny-sd2")
	set := func(file string, kv map[string]any) {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(dir, file), string(golden.WithKeys(t, string(data), kv)))
	}
	set("model_index.json", map[string]any{"_diffusers_version": "0.30.0"})
	set("unet/config.json", map[string]any{"_diffusers_version": "0.30.0"})
	set("vae/config.json", map[string]any{"_diffusers_version": "0.30.0", "latents_mean": nil, "latents_std": nil,
		"shift_factor": nil, "use_post_quant_conv": true, "use_quant_conv": true, "mid_block_add_attention": true})
	set("text_encoder/config.json", map[string]any{"transformers_version": "4.44.0"})
	special := func(content string, normalized bool) map[string]any {
		return map[string]any{"content": content, "lstrip": false, "normalized": normalized, "rstrip": false, "single_word": false, "special": true}
	}
	set("tokenizer/tokenizer_config.json", map[string]any{
		"added_tokens_decoder": map[string]any{"0": special("!", false), "49406": special("<|startoftext|>", true), "49407": special("<|endoftext|>", false)},
		"bos_token":            "<|startoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>", "pad_token": "!",
		"clean_up_tokenization_spaces": true, "special_tokens_map_file": nil,
	})
	write(t, filepath.Join(dir, "tokenizer", "special_tokens_map.json"),
		`{"bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>", "pad_token": "!", "unk_token": "<|endoftext|>"}`)
	write(t, filepath.Join(dir, "tokenizer", "added_tokens.json"), `{"!": 0, "<|endoftext|>": 49407, "<|startoftext|>": 49406}`)

	o := Options{Prompt: "Small left apical pneumothorax!", NegativePrompt: "blurry", Seed: 9, Steps: 3, Guidance: 4, Width: 64, Height: 64, NumImages: 1}
	want, err := openPipeline(t, src).Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	got, err := openPipeline(t, dir).Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Images[0].Pix, want.Images[0].Pix) {
		t.Error("the currently saved folder makes another image")
	}
}

// TestFastTokenizerWarning: with CLIPTokenizerFast in model_index.json, a
// prompt with non-ASCII characters is encoded with a warning (the fast
// tokenizer can split it otherwise); a plain ASCII prompt, or the same
// prompt with CLIPTokenizer, is not.
func TestFastTokenizerWarning(t *testing.T) {
	dir := copyFixture(t, "tiny-sd1")
	editFile(t, filepath.Join(dir, "model_index.json"), `"CLIPTokenizer"`, `"CLIPTokenizerFast"`)
	for _, c := range []struct {
		dir, prompt string
		warns       bool
	}{
		{dir, "Small left effusion.", false},
		{dir, "Épanchement pleural 胸部", true},
		{dir, "tab\there\x07", true},
		{golden.Path(t, "tiny-sd1"), "Épanchement pleural 胸部", false},
	} {
		var w strings.Builder
		if _, err := openPipeline(t, c.dir).Encode(c.prompt, &w); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(w.String(), "CLIPTokenizerFast"); got != c.warns {
			t.Errorf("%s %q: warning %q", c.dir, c.prompt, w.String())
		}
	}
}
