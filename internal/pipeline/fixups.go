package pipeline

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/roentgen-dev/roentgen/internal/config"
	"github.com/roentgen-dev/roentgen/internal/diffusers"
	"github.com/roentgen-dev/roentgen/internal/sampler"
)

// StableDiffusionPipeline.__init__ (diffusers 0.25.1) mends configs written
// by early diffusers versions before it runs them, with a deprecation
// warning each; roentgen applies the same three fixes and says so (Notes):
//
//   - the scheduler's steps_offset becomes 1 (the classes default to 0, so a
//     config without the key gets 1 too);
//   - a scheduler clip_sample that is true (set in the file, or DDIM's
//     default) becomes false;
//   - a U-Net saved by diffusers before 0.9.0 with sample_size below 64
//     gets 64 (the default image size).
//
// The fixes change the pipeline's scheduler config object, which keeps
// the names of the keys its class filled with defaults
// (_use_default_values); a scheduler built from it for another class
// (--scheduler, Class.from_config(pipe.scheduler.config)) drops those
// keys again. So a key the file lacked is fixed for the model's own
// scheduler only, and a key the file set is fixed for every scheduler.

// modelScheduler reads scheduler_config.json and returns it with the class
// model_index.json names, which is the class diffusers builds from it (a
// DDIMScheduler from a PNDM config, say, when the two files disagree),
// the configs the model's own scheduler and the others run with
// (schedulerFixups), and notes for the user.
func modelScheduler(f *diffusers.Folder) (cfg, own, other sampler.Config, notes []string, err error) {
	file, data, err := f.Config("scheduler")
	if err != nil {
		return cfg, own, other, nil, err
	}
	if cfg, err = sampler.ParseConfig(data); err != nil {
		return cfg, own, other, nil, fmt.Errorf("%s: %w", file, err)
	}
	if idx := f.Components["scheduler"].Class; idx != "" && idx != cfg.ClassName {
		notes = append(notes, fmt.Sprintf("model_index.json names the scheduler %s and scheduler_config.json's _class_name is %s: running %s built from that config, as diffusers does",
			idx, cfg.ClassName, idx))
		cfg.ClassName = idx
	}
	own, other, fixes := schedulerFixups(cfg)
	return cfg, own, other, append(notes, fixes...), nil
}

// schedulerFixups returns the scheduler config the model's own scheduler
// runs with, the one other schedulers are built from, and notes on what
// was changed.
func schedulerFixups(c sampler.Config) (own, other sampler.Config, notes []string) {
	own, other = c, c
	one, no := 1, false
	switch {
	case c.StepsOffset == nil:
		own.StepsOffset = &one
		notes = append(notes, "scheduler_config.json has no steps_offset; the model's scheduler uses 1, as diffusers' StableDiffusionPipeline does")
	case *c.StepsOffset != 1:
		own.StepsOffset, other.StepsOffset = &one, &one
		notes = append(notes, fmt.Sprintf("scheduler_config.json has steps_offset %d; using 1, as diffusers' StableDiffusionPipeline does", *c.StepsOffset))
	}
	switch {
	case c.ClipSample != nil && *c.ClipSample:
		own.ClipSample, other.ClipSample = &no, &no
		notes = append(notes, "scheduler_config.json has clip_sample true; using false, as diffusers' StableDiffusionPipeline does")
	case c.ClipSample == nil && c.ClassName == "DDIMScheduler": // the only class here whose default is true
		own.ClipSample = &no
		notes = append(notes, "scheduler_config.json has no clip_sample (DDIMScheduler's default is true); the model's scheduler uses false, as diffusers' StableDiffusionPipeline does")
	}
	return own, other, notes
}

// sampleSizeFixup returns the U-Net sample_size StableDiffusionPipeline
// uses for a unet/config.json (data) whose sample_size is size.
func sampleSizeFixup(data []byte, size config.Size) (config.Size, string) {
	var v struct {
		Version string `json:"_diffusers_version"`
	}
	if json.Unmarshal(data, &v) != nil || size.H != size.W || size.H >= 64 || !versionBefore090(v.Version) {
		return size, ""
	}
	return config.Square(64), fmt.Sprintf("unet/config.json (diffusers %s) has sample_size %v; using 64 (512 px images by default), as diffusers' StableDiffusionPipeline does for configs saved before 0.9.0", v.Version, size)
}

// versionBefore090 reports whether a diffusers version's release (e.g.
// "0.8.1" or "0.8.0.dev0") is before 0.9.0.
func versionBefore090(v string) bool {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	return err1 == nil && err2 == nil && major == 0 && minor < 9
}
