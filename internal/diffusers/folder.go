// Package diffusers reads the Hugging Face diffusers folder format: model_index.json, component discovery, weight-file choice and family detection.
package diffusers

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Component is one entry of model_index.json, e.g. "unet": ["diffusers", "UNet2DConditionModel"].
type Component struct {
	Name, Library, Class string
}

// Folder is an opened pipeline folder whose model_index.json has been read
// and whose required components are present.
type Folder struct {
	Name       string // the path or name shown in messages
	Class      string // _class_name, e.g. StableDiffusionPipeline
	Version    string // _diffusers_version
	Components map[string]Component
	fsys       fs.FS
	dir        string // the folder on disk; empty for an embedded one
}

// required are the components a text-to-image pipeline runs, with the
// classes roentgen implements.
var required = map[string][]string{
	"unet":         {"UNet2DConditionModel"},
	"vae":          {"AutoencoderKL"},
	"text_encoder": {"CLIPTextModel"},
	"tokenizer":    {"CLIPTokenizer", "CLIPTokenizerFast"},
	"scheduler":    nil, // any class; the sampler package decides
}

// optional are components that may be present and are not used: roentgen
// has no safety checker (synthetic radiographs are not screened for NSFW
// content), and image encoders serve IP-Adapters.
var optional = map[string]bool{"safety_checker": true, "feature_extractor": true, "image_encoder": true}

// pipelines are the model_index classes whose weights are a text-to-image
// Stable Diffusion 1.x/2.x pipeline.
var pipelines = map[string]bool{
	"StableDiffusionPipeline": true, "StableDiffusionImg2ImgPipeline": true,
}

// Open reads a pipeline folder on disk.
func Open(dir string) (*Folder, error) {
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("model folder %s does not exist", dir)
		}
		return nil, err
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("model folder %s is not a directory (give the folder that holds model_index.json)", dir)
	}
	return open(dir, os.DirFS(dir), dir)
}

// OpenFS reads a pipeline folder from a file system, e.g. one embedded in
// the binary. name is used in messages.
func OpenFS(name string, fsys fs.FS) (*Folder, error) { return open(name, fsys, "") }

func open(name string, fsys fs.FS, dir string) (*Folder, error) {
	f := &Folder{Name: name, fsys: fsys, dir: dir, Components: map[string]Component{}}
	file := f.path("model_index.json")
	data, err := fs.ReadFile(fsys, "model_index.json")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: missing; %s is not a diffusers pipeline folder", file, name)
		}
		return nil, err
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: malformed JSON: %v", file, err)
	}
	for k, v := range raw {
		switch {
		case k == "_class_name":
			if json.Unmarshal(v, &f.Class) != nil {
				return nil, fmt.Errorf("%s: _class_name must be a string", file)
			}
		case k == "_diffusers_version":
			_ = json.Unmarshal(v, &f.Version)
		case strings.HasPrefix(k, "_"):
		default:
			var pair []*string
			if json.Unmarshal(v, &pair) != nil || len(pair) != 2 {
				continue // a pipeline option such as requires_safety_checker
			}
			if pair[0] == nil || pair[1] == nil {
				continue // [null, null]: component absent
			}
			f.Components[k] = Component{Name: k, Library: *pair[0], Class: *pair[1]}
		}
	}
	if f.Class == "" {
		return nil, fmt.Errorf("%s: _class_name is missing", file)
	}
	if !pipelines[f.Class] {
		return nil, fmt.Errorf("%s: pipeline class %q is not supported (roentgen runs Stable Diffusion 1.x/2.x StableDiffusionPipeline folders)", file, f.Class)
	}
	if err := f.checkComponents(file); err != nil {
		return nil, err
	}
	return f, nil
}

func (f *Folder) checkComponents(file string) error {
	names := make([]string, 0, len(f.Components))
	for n := range f.Components {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		c := f.Components[n]
		classes, known := required[n]
		if !known && !optional[n] {
			return fmt.Errorf("%s: unknown component %q (%s.%s) is not supported", file, n, c.Library, c.Class)
		}
		if known && classes != nil && !contains(classes, c.Class) {
			return fmt.Errorf("%s: component %q has class %q; roentgen implements %s", file, n, c.Class, strings.Join(classes, " or "))
		}
	}
	for _, n := range []string{"text_encoder", "tokenizer", "unet", "vae", "scheduler"} {
		if _, ok := f.Components[n]; !ok {
			return fmt.Errorf("%s: required component %q is missing or null", file, n)
		}
		if st, err := fs.Stat(f.fsys, n); err != nil || !st.IsDir() {
			return fmt.Errorf("%s: component folder is missing", f.path(n))
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// path names a file of the folder in messages.
func (f *Folder) path(name string) string {
	if f.dir != "" {
		return filepath.Join(f.dir, filepath.FromSlash(name))
	}
	return f.Name + "/" + name
}

// Path returns the display path of a file in the folder, e.g. Path("unet", "config.json").
func (f *Folder) Path(elem ...string) string { return f.path(path.Join(elem...)) }

// Dir returns the folder on disk, or "" for an embedded folder.
func (f *Folder) Dir() string { return f.dir }

// ReadFile reads a file of the folder; its error names the file.
func (f *Folder) ReadFile(elem ...string) ([]byte, error) {
	name := path.Join(elem...)
	data, err := fs.ReadFile(f.fsys, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: missing", f.path(name))
		}
		return nil, fmt.Errorf("%s: %w", f.path(name), err)
	}
	return data, nil
}

// Config reads a component's config file: scheduler/scheduler_config.json for
// the scheduler, <component>/config.json otherwise. It returns the display
// path with the bytes.
func (f *Folder) Config(component string) (string, []byte, error) {
	file := "config.json"
	if component == "scheduler" {
		file = "scheduler_config.json"
	}
	data, err := f.ReadFile(component, file)
	return f.Path(component, file), data, err
}

// IsDir reports whether the folder holds a directory at elem.
func (f *Folder) IsDir(elem ...string) bool {
	st, err := fs.Stat(f.fsys, path.Join(elem...))
	return err == nil && st.IsDir()
}

// IsFile reports whether the folder holds a regular file at elem.
func (f *Folder) IsFile(elem ...string) bool {
	st, err := fs.Stat(f.fsys, path.Join(elem...))
	return err == nil && st.Mode().IsRegular()
}

// Sub returns a component's folder as a file system (the tokenizer files).
func (f *Folder) Sub(component string) (fs.FS, error) { return fs.Sub(f.fsys, component) }
