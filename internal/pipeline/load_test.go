package pipeline

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roentgen-dev/roentgen/internal/diffusers"
	"github.com/roentgen-dev/roentgen/internal/golden"
	"github.com/roentgen-dev/roentgen/internal/weights"
	"github.com/x448/float16"
)

// Parameter counts reported by diffusers/transformers for the fixtures
// (testdata/golden/*/index.json "param_counts", fixture README table).
var wantParams = map[string]map[string]int64{
	"tiny-sd1": {"unet": 715700, "vae": 437847, "text_encoder": 1617760},
	"tiny-sd2": {"unet": 820564, "vae": 131847, "text_encoder": 1202304},
}

func TestLoadFixtures(t *testing.T) {
	for name, family := range map[string]diffusers.Family{"tiny-sd1": diffusers.SD1, "tiny-sd2": diffusers.SD2} {
		t.Run(name, func(t *testing.T) {
			f, err := diffusers.Open(golden.Path(t, name))
			if err != nil {
				t.Fatal(err)
			}
			m, err := Load(f, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.Family != family {
				t.Errorf("family %s, want %s", m.Family, family)
			}
			for _, c := range m.Components {
				if c.Params != wantParams[name][c.Name] {
					t.Errorf("%s: %d params, diffusers counts %d", c.Name, c.Params, wantParams[name][c.Name])
				}
			}
			if w, h := m.DefaultSize(); w != 64 || h != 64 {
				t.Errorf("default size %dx%d, want 64x64 (sample_size 8 x 8)", w, h)
			}
		})
	}
}

func TestDemoModelIsTinySD1(t *testing.T) {
	var notice strings.Builder
	f, err := OpenFolder("", &notice)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(notice.String(), "built-in random-weight demo model") || !strings.Contains(notice.String(), "--model") {
		t.Errorf("notice %q", notice.String())
	}
	m, err := Load(f, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for _, c := range m.Components {
		if c.Params != wantParams["tiny-sd1"][c.Name] {
			t.Errorf("%s: %d params", c.Name, c.Params)
		}
	}
}

// copyFixture copies a fixture pipeline into a temporary folder to break.
func copyFixture(t *testing.T, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	golden.CopyDir(t, golden.Path(t, name), dst)
	return dst
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	write(t, path, strings.Replace(string(b), old, new, 1))
}

// rewriteWeights rewrites a safetensors file through edit.
func rewriteWeights(t *testing.T, path string, edit func([]weights.Record) []weights.Record) {
	t.Helper()
	f, err := weights.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	recs := edit(f.Records())
	var copied []weights.Record
	for _, r := range recs {
		r.Data = append([]byte(nil), r.Data...)
		copied = append(copied, r)
	}
	f.Close()
	if err := weights.WriteFile(path, copied, nil); err != nil {
		t.Fatal(err)
	}
}

func loadDir(dir string) error {
	f, err := diffusers.Open(dir)
	if err != nil {
		return err
	}
	m, err := Load(f, LoadOptions{})
	if err == nil {
		m.Close()
	}
	return err
}

// TestLoaderErrors breaks a copy of the fixture one way per case and checks
// that loading fails with a message naming the file and the problem.
func TestLoaderErrors(t *testing.T) {
	unetST := filepath.Join("unet", "diffusion_pytorch_model.safetensors")
	cases := []struct {
		name   string
		fixt   string
		break_ func(t *testing.T, dir string)
		want   []string
	}{
		{"folder missing", "tiny-sd1", func(t *testing.T, dir string) { os.RemoveAll(dir) }, []string{"does not exist"}},
		{"model_index missing", "tiny-sd1", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "model_index.json")) }, []string{"model_index.json: missing"}},
		{"model_index malformed", "tiny-sd1", func(t *testing.T, dir string) { write(t, filepath.Join(dir, "model_index.json"), `{"_class_name": `) }, []string{"model_index.json: malformed JSON"}},
		{"unsupported pipeline", "tiny-sd1", func(t *testing.T, dir string) {
			editFile(t, filepath.Join(dir, "model_index.json"), `"StableDiffusionPipeline"`, `"StableDiffusionXLPipeline"`)
		}, []string{"model_index.json", `"StableDiffusionXLPipeline" is not supported`}},
		{"component null", "tiny-sd1", func(t *testing.T, dir string) {
			editFile(t, filepath.Join(dir, "model_index.json"), `"diffusers",
    "UNet2DConditionModel"`, `null, null`)
		}, []string{`required component "unet" is missing`}},
		{"unknown component", "tiny-sd1", func(t *testing.T, dir string) {
			editFile(t, filepath.Join(dir, "model_index.json"), `"requires_safety_checker"`, `"text_encoder_2": ["transformers", "CLIPTextModelWithProjection"], "requires_safety_checker"`)
		}, []string{`unknown component "text_encoder_2"`}},
		{"unknown class", "tiny-sd1", func(t *testing.T, dir string) {
			editFile(t, filepath.Join(dir, "model_index.json"), `"UNet2DConditionModel"`, `"UNet2DModel"`)
		}, []string{`component "unet" has class "UNet2DModel"`}},
		{"component folder missing", "tiny-sd1", func(t *testing.T, dir string) { os.RemoveAll(filepath.Join(dir, "vae")) }, []string{filepath.Join("vae") + ": component folder is missing"}},
		{"config missing", "tiny-sd1", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "unet", "config.json")) }, []string{filepath.Join("unet", "config.json") + ": missing"}},
		{"config truncated", "tiny-sd2", func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, "unet", "config.json"))
			write(t, filepath.Join(dir, "unet", "config.json"), string(b[:len(b)/2]))
		}, []string{filepath.Join("unet", "config.json") + ": malformed JSON"}},
		{"config wrong type", "tiny-sd1", func(t *testing.T, dir string) {
			editFile(t, filepath.Join(dir, "unet", "config.json"), `"layers_per_block": 2`, `"layers_per_block": "two"`)
		}, []string{filepath.Join("unet", "config.json"), `field "layers_per_block"`}},
		{"config wrong scalar type", "tiny-sd1", func(t *testing.T, dir string) {
			editFile(t, filepath.Join(dir, "vae", "config.json"), `"latent_channels": 4`, `"latent_channels": [4]`)
		}, []string{filepath.Join("vae", "config.json"), `field "latent_channels"`}},
		{"unknown block type", "tiny-sd1", func(t *testing.T, dir string) {
			editFile(t, filepath.Join(dir, "unet", "config.json"), `"DownBlock2D"
 ]`, `"KDownBlock2D"
 ]`)
		}, []string{`down_block_types[3]: block type "KDownBlock2D" is not supported`}},
		{"unknown activation", "tiny-sd1", func(t *testing.T, dir string) {
			editFile(t, filepath.Join(dir, "text_encoder", "config.json"), `"quick_gelu"`, `"relu"`)
		}, []string{filepath.Join("text_encoder", "config.json"), `hidden_act "relu"`}},
		{"weights missing", "tiny-sd1", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, unetST)) }, []string{"unet: no weights found"}},
		{"pre-1.6 PyTorch checkpoint", "tiny-sd1", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, unetST))
			write(t, filepath.Join(dir, "unet", "diffusion_pytorch_model.bin"), "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.")
		}, []string{filepath.Join("unet", "diffusion_pytorch_model.bin"), "format before PyTorch 1.6"}},
		{"weights path is a folder", "tiny-sd1", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, unetST))
			os.Mkdir(filepath.Join(dir, unetST), 0o755)
		}, []string{unetST, "not a regular file (a directory)"}},
		{"single-file checkpoint", "tiny-sd1", func(t *testing.T, dir string) {
			os.Rename(filepath.Join(dir, unetST), filepath.Join(dir, "unet", "model.ckpt"))
		}, []string{"only model.ckpt found", "diffusion_pytorch_model.bin"}},
		{"weights truncated", "tiny-sd1", func(t *testing.T, dir string) {
			p := filepath.Join(dir, unetST)
			b, _ := os.ReadFile(p)
			write(t, p, string(b[:len(b)-100]))
		}, []string{unetST, "outside the"}},
		{"shape mismatch", "tiny-sd1", func(t *testing.T, dir string) {
			editFile(t, filepath.Join(dir, "unet", "config.json"), `"cross_attention_dim": 32`, `"cross_attention_dim": 40`)
		}, []string{unetST, `tensor "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight" has shape [16 32], the config expects [16 40]`}},
		{"missing tensor", "tiny-sd1", func(t *testing.T, dir string) {
			rewriteWeights(t, filepath.Join(dir, unetST), func(r []weights.Record) []weights.Record {
				var out []weights.Record
				for _, x := range r {
					if x.Name != "mid_block.attentions.0.proj_out.bias" {
						out = append(out, x)
					}
				}
				return out
			})
		}, []string{unetST, `missing tensor "mid_block.attentions.0.proj_out.bias"`}},
		{"unexpected tensor", "tiny-sd2", func(t *testing.T, dir string) {
			rewriteWeights(t, filepath.Join(dir, "text_encoder", "model.safetensors"), func(r []weights.Record) []weights.Record {
				return append(r, weights.Record{Name: "text_projection.weight", DType: weights.F32, Shape: []int{1}, Data: make([]byte, 4)})
			})
		}, []string{filepath.Join("text_encoder", "model.safetensors"), `unexpected tensor "text_projection.weight"`}},
		{"unsupported dtype", "tiny-sd1", func(t *testing.T, dir string) {
			rewriteWeights(t, filepath.Join(dir, "vae", "diffusion_pytorch_model.safetensors"), func(r []weights.Record) []weights.Record {
				for i, x := range r {
					if x.Name == "decoder.conv_out.bias" {
						r[i].DType = "I32"
					}
				}
				return r
			})
		}, []string{`tensor "decoder.conv_out.bias" has dtype I32`}},
		{"NaN in weights", "tiny-sd2", func(t *testing.T, dir string) {
			rewriteWeights(t, filepath.Join(dir, "unet", "diffusion_pytorch_model.safetensors"), func(r []weights.Record) []weights.Record {
				for i, x := range r {
					if x.Name == "mid_block.resnets.1.conv2.weight" {
						r[i].Data = append([]byte(nil), x.Data...)
						copy(r[i].Data[40:], []byte{0x00, 0x00, 0xc0, 0x7f}) // float32 NaN at element 10
					}
				}
				return r
			})
		}, []string{filepath.Join("unet", "diffusion_pytorch_model.safetensors"), `tensor "mid_block.resnets.1.conv2.weight" holds a non-finite value (NaN or Inf) at element 10`}},
		{"in_channels mismatch", "tiny-sd2", func(t *testing.T, dir string) {
			editFile(t, filepath.Join(dir, "unet", "config.json"), `"in_channels": 4`, `"in_channels": 5`)
		}, []string{`conv_in.weight" has shape [16 4 3 3], the config expects [16 5 3 3]`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyFixture(t, c.fixt)
			c.break_(t, dir)
			err := loadDir(dir)
			if err == nil {
				t.Fatal("loaded without error")
			}
			t.Log(err)
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

// toF16 rewrites a component's F32 weights as an fp16 variant file.
func toF16(t *testing.T, src, dst string) {
	t.Helper()
	f, err := weights.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []weights.Record
	for _, r := range f.Records() {
		if r.DType == weights.F32 {
			v, _ := f.Float32(r.Name)
			b := make([]byte, 2*len(v))
			for i, x := range v {
				binary.LittleEndian.PutUint16(b[2*i:], float16.Fromfloat32(x).Bits())
			}
			r = weights.Record{Name: r.Name, DType: weights.F16, Shape: r.Shape, Data: b}
		}
		recs = append(recs, r)
	}
	if err := weights.WriteFile(dst, recs, nil); err != nil {
		t.Fatal(err)
	}
}

func TestVariantsAndShards(t *testing.T) {
	dir := copyFixture(t, "tiny-sd1")
	unet := filepath.Join(dir, "unet")
	full := filepath.Join(unet, "diffusion_pytorch_model.safetensors")
	toF16(t, full, filepath.Join(unet, "diffusion_pytorch_model.fp16.safetensors"))
	load := func(variant string) *Models {
		t.Helper()
		f, err := diffusers.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		m, err := Load(f, LoadOptions{Variant: variant})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}
	if c := load("").Components[1]; c.DTypes()[0] != weights.F32 {
		t.Errorf("default variant picked %v", c.DTypes())
	}
	// A full-precision .bin beats an fp16 .safetensors without --variant, and
	// the fp16 .safetensors beats the full-precision .bin with it.
	toTorch(t, dir, "unet", true)
	if c := load("").Components[1]; c.DTypes()[0] != weights.F32 || !strings.HasSuffix(c.Files[0], "diffusion_pytorch_model.safetensors") {
		t.Errorf("default: %v from %v", c.DTypes(), c.Files)
	}
	os.Rename(full, full+".away")
	if c := load("").Components[1]; c.DTypes()[0] != weights.F32 || !strings.HasSuffix(c.Files[0], ".bin") {
		t.Errorf("no full-precision safetensors: %v from %v, want the full-precision .bin", c.DTypes(), c.Files)
	}
	if c := load("fp16").Components[1]; c.DTypes()[0] != weights.F16 {
		t.Errorf("--variant fp16 with a full-precision .bin: %v from %v", c.DTypes(), c.Files)
	}
	os.Rename(full+".away", full)
	os.Remove(filepath.Join(unet, "diffusion_pytorch_model.bin"))
	if c := load("bf16").Components[1]; c.DTypes()[0] != weights.F32 {
		t.Errorf("a missing bf16 variant did not fall back to full precision: %v", c.DTypes())
	}
	c := load("fp16").Components[1]
	if c.DTypes()[0] != weights.F16 || c.Params != wantParams["tiny-sd1"]["unet"] || !strings.HasSuffix(c.Files[0], ".fp16.safetensors") {
		t.Errorf("fp16 variant: %v %d %v", c.DTypes(), c.Params, c.Files)
	}
	os.Remove(full) // only the fp16 file left: used by default too
	if c := load("").Components[1]; c.DTypes()[0] != weights.F16 {
		t.Errorf("fallback to fp16 failed: %v", c.DTypes())
	}

	// Shard the text encoder into two files with an index.
	te := filepath.Join(dir, "text_encoder")
	f, err := weights.Open(filepath.Join(te, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	recs := f.Records()
	half := len(recs) / 2
	index := `{"metadata": {}, "weight_map": {`
	for i, r := range recs {
		shard := "model-00001-of-00002.safetensors"
		if i >= half {
			shard = "model-00002-of-00002.safetensors"
		}
		if i > 0 {
			index += ","
		}
		index += `"` + r.Name + `": "` + shard + `"`
	}
	index += "}}"
	for i, part := range [][]weights.Record{recs[:half], recs[half:]} {
		var cp []weights.Record
		for _, r := range part {
			r.Data = append([]byte(nil), r.Data...)
			cp = append(cp, r)
		}
		name := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i]
		if err := weights.WriteFile(filepath.Join(te, name), cp, nil); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	os.Remove(filepath.Join(te, "model.safetensors"))
	write(t, filepath.Join(te, "model.safetensors.index.json"), index)
	m := load("")
	if c := m.Components[0]; c.Params != wantParams["tiny-sd1"]["text_encoder"] || len(c.Files) != 2 {
		t.Errorf("sharded text encoder: %d params from %v", c.Params, c.Files)
	}

	// A tensor listed in the wrong shard, then a missing shard.
	bad := strings.Replace(index, `"text_model.final_layer_norm.bias": "model-00002-of-00002.safetensors"`, `"text_model.final_layer_norm.bias": "model-00001-of-00002.safetensors"`, 1)
	if bad == index {
		t.Fatal("index edit did not apply")
	}
	write(t, filepath.Join(te, "model.safetensors.index.json"), bad)
	if err := loadDir(dir); err == nil || !strings.Contains(err.Error(), `"text_model.final_layer_norm.bias" is listed in shard model-00001-of-00002.safetensors but not stored there`) {
		t.Errorf("wrong shard: %v", err)
	}
	write(t, filepath.Join(te, "model.safetensors.index.json"), index)
	os.Remove(filepath.Join(te, "model-00002-of-00002.safetensors"))
	if err := loadDir(dir); err == nil || !strings.Contains(err.Error(), "shard model-00002-of-00002.safetensors") {
		t.Errorf("missing shard: %v", err)
	}
}

// TestPyTorchCheckpoints converts every component of tiny-sd1 to PyTorch
// checkpoints (pytorch_model.bin, diffusion_pytorch_model.bin) and checks
// that they are found and give the same image, bit for bit, as the
// safetensors files; and that safetensors win when both are present.
func TestPyTorchCheckpoints(t *testing.T) {
	dir := copyFixture(t, "tiny-sd1")
	toTorch(t, dir, "text_encoder", false)
	toTorch(t, dir, "unet", false)
	toTorch(t, dir, "vae", true) // the VAE keeps both files
	o := Options{Prompt: "Small left pleural effusion.", Steps: 3, Guidance: 4, Width: 64, Height: 64, NumImages: 1, Seed: 7}
	want, err := openPipeline(t, golden.Path(t, "tiny-sd1")).Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	p := openPipeline(t, dir)
	for _, c := range p.Models.Components {
		if ext := filepath.Ext(c.Files[0]); ext != map[bool]string{true: ".safetensors", false: ".bin"}[c.Name == "vae"] {
			t.Errorf("%s loaded from %v", c.Name, c.Files)
		}
	}
	got, err := p.Generate(o)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got.Images[0].Pix {
		if v != want.Images[0].Pix[i] {
			t.Fatalf("pixel %d: %v from PyTorch checkpoints, %v from safetensors", i, v, want.Images[0].Pix[i])
		}
	}
}

// toTorch writes a component's safetensors weights as the PyTorch
// checkpoint save_pretrained would have written, and removes the
// safetensors file unless keep.
func toTorch(t *testing.T, dir, comp string, keep bool) {
	t.Helper()
	st, bin := "diffusion_pytorch_model", "diffusion_pytorch_model"
	if comp == "text_encoder" {
		st, bin = "model", "pytorch_model"
	}
	src := filepath.Join(dir, comp, st+".safetensors")
	f, err := weights.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := weights.WriteTorchFile(filepath.Join(dir, comp, bin+".bin"), f.Records()); err != nil {
		t.Fatal(err)
	}
	if !keep {
		os.Remove(src)
	}
}
