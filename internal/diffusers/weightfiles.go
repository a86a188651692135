package diffusers

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/roentgen-dev/roentgen/internal/weights"
)

// weightFormats are the weight file formats a component is looked up in,
// preferred first (as diffusers prefers safetensors), with the file stems
// diffusers (models) and transformers (text encoders) write in each.
var weightFormats = []struct {
	ext   string
	stems []string
}{
	{"safetensors", []string{"diffusion_pytorch_model", "model"}},
	{"bin", []string{"diffusion_pytorch_model", "pytorch_model"}},
}

// WeightFiles names the files a component's weights were taken from.
type WeightFiles struct {
	Index string   // the sharded index, or ""
	Files []string // display paths
}

// Weights opens a component's weights: safetensors, else a PyTorch
// checkpoint (<name>.bin, as torch.save writes it). With variant "" the
// full-precision file is preferred and an fp16 variant (<name>.fp16.<ext>)
// used when it is the only one; with a variant such as "fp16" that variant
// is preferred and full precision used when it is missing. Sharded weights are found through <name>.<ext>.index.json (or
// its fp16 forms).
func (f *Folder) Weights(component, variant string) (*weights.Set, WeightFiles, error) {
	entries, err := fs.ReadDir(f.fsys, component)
	if err != nil {
		return nil, WeightFiles{}, fmt.Errorf("%s: %w", f.path(component), err)
	}
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Name()] = true
	}
	variants := []string{"", "fp16"}
	if variant == "fp16" {
		variants = []string{"fp16", ""}
	} else if variant != "" {
		variants = []string{variant, ""}
	}
	for _, v := range variants { // the preferred variant in either format first, as diffusers
		for _, format := range weightFormats {
			for _, base := range format.stems {
				single := base + "." + format.ext
				indexes := []string{single + ".index.json"}
				if v != "" {
					single = base + "." + v + "." + format.ext
					indexes = []string{base + "." + format.ext + ".index." + v + ".json", single + ".index.json"}
				}
				if have[single] {
					file, err := f.openWeights(path.Join(component, single))
					if err != nil {
						return nil, WeightFiles{}, err
					}
					set, err := weights.NewSet(file)
					if err != nil {
						file.Close()
						return nil, WeightFiles{}, err
					}
					return set, WeightFiles{Files: []string{file.Path}}, nil
				}
				for _, idx := range indexes {
					if have[idx] {
						return f.openSharded(component, idx)
					}
				}
			}
		}
	}
	for name := range have {
		if strings.HasSuffix(name, ".ckpt") || strings.HasSuffix(name, ".pt") || strings.HasSuffix(name, ".pth") {
			return nil, WeightFiles{}, fmt.Errorf("%s: only %s found, which is not a diffusers weight file name; roentgen reads %s.safetensors or %s.bin (a single-file checkpoint must be converted to diffusers layout first)", f.path(component), name, weightStem(component, 0), weightStem(component, 1))
		}
	}
	return nil, WeightFiles{}, fmt.Errorf("%s: no weights found (expected %s.safetensors or %s.bin, a variant such as %s.fp16.safetensors, or a sharded %s.safetensors.index.json)", f.path(component), weightStem(component, 0), weightStem(component, 1), weightStem(component, 0), weightStem(component, 0))
}

// weightStem is the weight file stem of component in weightFormats[format].
func weightStem(component string, format int) string {
	if strings.HasPrefix(component, "text_encoder") { // text_encoder, or a folder such as RoentGen's text_encoder_and_tokenizer
		return weightFormats[format].stems[1]
	}
	return weightFormats[format].stems[0]
}

func (f *Folder) openWeights(name string) (*weights.File, error) {
	if f.dir != "" {
		return weights.Open(filepath.Join(f.dir, filepath.FromSlash(name)))
	}
	data, err := fs.ReadFile(f.fsys, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.path(name), err)
	}
	return weights.Parse(f.path(name), data)
}

type shardIndex struct {
	WeightMap map[string]string `json:"weight_map"`
}

func (f *Folder) openSharded(component, index string) (*weights.Set, WeightFiles, error) {
	idxPath := f.path(path.Join(component, index))
	data, err := f.ReadFile(component, index)
	if err != nil {
		return nil, WeightFiles{}, err
	}
	var idx shardIndex
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, WeightFiles{}, fmt.Errorf("%s: malformed JSON: %v", idxPath, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, WeightFiles{}, fmt.Errorf("%s: weight_map is missing or empty", idxPath)
	}
	var shards []string
	seen := map[string]bool{}
	for tensor, shard := range idx.WeightMap {
		if shard == "" || strings.ContainsAny(shard, `/\`) || shard == ".." {
			return nil, WeightFiles{}, fmt.Errorf("%s: tensor %q: shard file name %q must be a plain file name in the same folder", idxPath, tensor, shard)
		}
		if !seen[shard] {
			seen[shard] = true
			shards = append(shards, shard)
		}
	}
	sort.Strings(shards)
	wf := WeightFiles{Index: idxPath}
	var files []*weights.File
	closeAll := func() {
		for _, fl := range files {
			fl.Close()
		}
	}
	for _, shard := range shards {
		fl, err := f.openWeights(path.Join(component, shard))
		if err != nil {
			closeAll()
			return nil, wf, fmt.Errorf("%s: shard %s: %w", idxPath, shard, err)
		}
		files = append(files, fl)
		wf.Files = append(wf.Files, fl.Path)
	}
	set, err := weights.NewSet(files...)
	if err != nil {
		closeAll()
		return nil, wf, fmt.Errorf("%s: %w", idxPath, err)
	}
	for tensor, shard := range idx.WeightMap {
		_, fl, ok := set.Info(tensor)
		if !ok || filepath.Base(fl.Path) != shard {
			closeAll()
			return nil, wf, fmt.Errorf("%s: tensor %q is listed in shard %s but not stored there", idxPath, tensor, shard)
		}
	}
	for _, n := range set.Names() {
		if _, ok := idx.WeightMap[n]; !ok {
			_, fl, _ := set.Info(n)
			closeAll()
			return nil, wf, fmt.Errorf("%s: tensor %q is stored in %s but not listed in the index", idxPath, n, fl.Path)
		}
	}
	return set, wf, nil
}
