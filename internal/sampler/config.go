package sampler

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Config is scheduler/scheduler_config.json with diffusers' keys. A nil
// field was absent from the file (or named in its _use_default_values) and
// takes the default of whichever scheduler class is built from it, as
// diffusers' SchedulerClass.from_config does. Unknown keys are ignored.
type Config struct {
	ClassName         string      `json:"_class_name"`
	NumTrainTimesteps *int        `json:"num_train_timesteps"`
	BetaStart         *jsonFloat  `json:"beta_start"`
	BetaEnd           *jsonFloat  `json:"beta_end"`
	BetaSchedule      *string     `json:"beta_schedule"`
	TrainedBetas      []jsonFloat `json:"trained_betas"`
	StepsOffset       *int        `json:"steps_offset"`
	TimestepSpacing   *string     `json:"timestep_spacing"`
	PredictionType    *string     `json:"prediction_type"`
	SetAlphaToOne     *bool       `json:"set_alpha_to_one"`
	ClipSample        *bool       `json:"clip_sample"`
	ClipSampleRange   *float64    `json:"clip_sample_range"`
	Thresholding      *bool       `json:"thresholding"`
	SkipPRKSteps      *bool       `json:"skip_prk_steps"`
	UseKarrasSigmas   *bool       `json:"use_karras_sigmas"`
	SigmaMin          *float64    `json:"sigma_min"`
	SigmaMax          *float64    `json:"sigma_max"`
	InterpolationType *string     `json:"interpolation_type"`
	TimestepType      *string     `json:"timestep_type"`
	RescaleZeroSNR    *bool       `json:"rescale_betas_zero_snr"`
	SolverOrder       *int        `json:"solver_order"`
	AlgorithmType     *string     `json:"algorithm_type"`
	SolverType        *string     `json:"solver_type"`
	LowerOrderFinal   *bool       `json:"lower_order_final"`
	EulerAtFinal      *bool       `json:"euler_at_final"`
	UseLuLambdas      *bool       `json:"use_lu_lambdas"`
	LambdaMinClipped  *jsonFloat  `json:"lambda_min_clipped"`
	VarianceType      *string     `json:"variance_type"`
	// Keys of diffusers 0.26 and later: final_sigmas_type (DPM, Euler), and
	// σ schedules roentgen does not build (refused when true).
	FinalSigmasType      *string `json:"final_sigmas_type"`
	UseExponentialSigmas *bool   `json:"use_exponential_sigmas"`
	UseBetaSigmas        *bool   `json:"use_beta_sigmas"`
	UseFlowSigmas        *bool   `json:"use_flow_sigmas"`

	// UseDefaultValues lists keys diffusers filled with defaults when it saved
	// the file; from_config drops them so the target class's defaults apply.
	UseDefaultValues []string `json:"_use_default_values"`
}

// jsonFloat accepts a JSON number or the non-finite spellings that Python's
// json module writes ("-inf" strings in the fixtures, bare -Infinity/NaN in
// files saved by diffusers, which sanitize rewrites to strings), so that a
// key which must be finite is refused by validate with its name and value
// rather than as a JSON string.
type jsonFloat float64

var float64Type = reflect.TypeFor[float64]()

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var v float64
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*f = jsonFloat(v)
		return nil
	}
	switch strings.ToLower(s) {
	case "-inf", "-infinity":
		*f = jsonFloat(math.Inf(-1))
	case "inf", "infinity":
		*f = jsonFloat(math.Inf(1))
	case "nan":
		*f = jsonFloat(math.NaN())
	default:
		// encoding/json fills in the field's name (ParseConfig quotes it).
		return &json.UnmarshalTypeError{Value: "string " + strconv.Quote(s), Type: float64Type}
	}
	return nil
}

// ParseConfig decodes and validates scheduler_config.json.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	if err := json.Unmarshal(sanitize(data), &c); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return Config{}, fmt.Errorf("scheduler config: field %s: got JSON %s, want %s", te.Field, te.Value, te.Type)
		}
		return Config{}, fmt.Errorf("scheduler config: %w", err)
	}
	c.dropDefaults()
	if err := c.validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// sanitize quotes the bare tokens NaN, Infinity and -Infinity that Python's
// json.dump writes for non-finite floats, which encoding/json rejects.
func sanitize(data []byte) []byte {
	var out bytes.Buffer
	inString := false
	for i := 0; i < len(data); i++ {
		ch := data[i]
		if inString {
			out.WriteByte(ch)
			if ch == '\\' && i+1 < len(data) {
				i++
				out.WriteByte(data[i])
			} else if ch == '"' {
				inString = false
			}
			continue
		}
		if ch == '"' {
			inString = true
		}
		replaced := false
		for _, tok := range []string{"-Infinity", "Infinity", "NaN"} {
			if bytes.HasPrefix(data[i:], []byte(tok)) {
				out.WriteString(`"` + tok + `"`)
				i += len(tok) - 1
				replaced = true
				break
			}
		}
		if !replaced {
			out.WriteByte(ch)
		}
	}
	return out.Bytes()
}

// dropDefaults clears the keys listed in _use_default_values, as
// ConfigMixin.extract_init_dict does before building another class.
func (c *Config) dropDefaults() {
	for _, k := range c.UseDefaultValues {
		switch k {
		case "timestep_spacing":
			c.TimestepSpacing = nil
		case "prediction_type":
			c.PredictionType = nil
		case "steps_offset":
			c.StepsOffset = nil
		case "set_alpha_to_one":
			c.SetAlphaToOne = nil
		case "clip_sample":
			c.ClipSample = nil
		case "clip_sample_range":
			c.ClipSampleRange = nil
		case "thresholding":
			c.Thresholding = nil
		case "skip_prk_steps":
			c.SkipPRKSteps = nil
		case "use_karras_sigmas":
			c.UseKarrasSigmas = nil
		case "interpolation_type":
			c.InterpolationType = nil
		case "timestep_type":
			c.TimestepType = nil
		case "rescale_betas_zero_snr":
			c.RescaleZeroSNR = nil
		case "solver_order":
			c.SolverOrder = nil
		case "algorithm_type":
			c.AlgorithmType = nil
		case "solver_type":
			c.SolverType = nil
		case "lower_order_final":
			c.LowerOrderFinal = nil
		case "euler_at_final":
			c.EulerAtFinal = nil
		case "use_lu_lambdas":
			c.UseLuLambdas = nil
		case "lambda_min_clipped":
			c.LambdaMinClipped = nil
		case "sigma_min":
			c.SigmaMin = nil
		case "sigma_max":
			c.SigmaMax = nil
		case "final_sigmas_type":
			c.FinalSigmasType = nil
		case "use_exponential_sigmas":
			c.UseExponentialSigmas = nil
		case "use_beta_sigmas":
			c.UseBetaSigmas = nil
		case "use_flow_sigmas":
			c.UseFlowSigmas = nil
		}
	}
	c.UseDefaultValues = nil
}

// validate checks the keys every class reads, with one-line errors.
func (c *Config) validate() error {
	oneOf := func(field string, v *string, allowed ...string) error {
		if v == nil {
			return nil
		}
		for _, a := range allowed {
			if *v == a {
				return nil
			}
		}
		return fmt.Errorf("scheduler config: %s %q is not one of %s", field, *v, strings.Join(allowed, ", "))
	}
	if c.NumTrainTimesteps != nil && *c.NumTrainTimesteps < 2 {
		return fmt.Errorf("scheduler config: num_train_timesteps %d is below 2", *c.NumTrainTimesteps)
	}
	if c.NumTrainTimesteps != nil && *c.NumTrainTimesteps > maxTrainTimesteps {
		return fmt.Errorf("scheduler config: num_train_timesteps %d is above %d (Stable Diffusion trains with 1000)", *c.NumTrainTimesteps, maxTrainTimesteps)
	}
	if err := c.validateBetas(); err != nil {
		return err
	}
	if c.TrainedBetas != nil && len(c.TrainedBetas) != c.trainSteps() {
		return fmt.Errorf("scheduler config: trained_betas has %d values, num_train_timesteps is %d", len(c.TrainedBetas), c.trainSteps())
	}
	if c.StepsOffset != nil && *c.StepsOffset < 0 {
		return fmt.Errorf("scheduler config: steps_offset %d is negative", *c.StepsOffset)
	}
	if c.SolverOrder != nil && (*c.SolverOrder < 1 || *c.SolverOrder > 3) {
		return fmt.Errorf("scheduler config: solver_order %d is not 1, 2 or 3", *c.SolverOrder)
	}
	for _, err := range []error{
		oneOf("beta_schedule", c.BetaSchedule, "linear", "scaled_linear", "squaredcos_cap_v2"),
		oneOf("timestep_spacing", c.TimestepSpacing, "leading", "linspace", "trailing"),
		oneOf("prediction_type", c.PredictionType, "epsilon", "v_prediction", "sample"),
		oneOf("interpolation_type", c.InterpolationType, "linear", "log_linear"),
		oneOf("algorithm_type", c.AlgorithmType, "dpmsolver++", "dpmsolver", "sde-dpmsolver++", "sde-dpmsolver", "deis"),
		oneOf("solver_type", c.SolverType, "midpoint", "heun", "logrho", "bh1", "bh2"),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// maxTrainTimesteps bounds num_train_timesteps, the length of the training
// noise schedule that every scheduler allocates several arrays of: Stable
// Diffusion and every diffusers scheduler default use 1000, so a thousand
// times that still costs only a few MB, while a hostile 10^12 would exhaust
// memory.
const maxTrainTimesteps = 1_000_000

// validateBetas checks the betas the schedule is built from: trained_betas
// when given, else beta_start and beta_end for the linear and scaled_linear
// schedules (squaredcos_cap_v2 does not read them). A beta is a per-step
// noise variance, so it must lie in (0, 1), in float64 and in the float32
// torch tensor diffusers keeps: 0 or less, 1 or more, or NaN give
// alphas_cumprod values of 0, 1 or NaN, and a silently black image. The
// order of beta_start and beta_end is not checked: diffusers accepts a
// decreasing schedule, whose alphas_cumprod still decreases.
func (c *Config) validateBetas() error {
	if c.TrainedBetas != nil {
		for i, b := range c.TrainedBetas {
			if msg := betaProblem(float64(b)); msg != "" {
				return fmt.Errorf("scheduler config: trained_betas[%d] %s; trained_betas must be finite numbers in (0, 1)", i, msg)
			}
		}
		return nil
	}
	if c.BetaSchedule != nil && *c.BetaSchedule != "linear" && *c.BetaSchedule != "scaled_linear" {
		return nil
	}
	for _, f := range []struct {
		name string
		v    *jsonFloat
	}{{"beta_start", c.BetaStart}, {"beta_end", c.BetaEnd}} {
		if f.v == nil {
			continue // the classes' defaults, 0.0001 and 0.02
		}
		if msg := betaProblem(float64(*f.v)); msg != "" {
			return fmt.Errorf("scheduler config: %s %s; it must be a finite number in (0, 1)", f.name, msg)
		}
	}
	return nil
}

// betaProblem describes why b cannot be a beta, or returns "".
func betaProblem(b float64) string {
	switch b32 := float32(b); {
	case !(b > 0 && b < 1):
		return fmt.Sprintf("is %g, outside (0, 1)", b)
	case !(b32 > 0 && b32 < 1):
		return fmt.Sprintf("is %g, which rounds to %g in float32 (the dtype of diffusers' betas)", b, b32)
	}
	return ""
}

func (c *Config) trainSteps() int {
	if c.NumTrainTimesteps != nil {
		return *c.NumTrainTimesteps
	}
	return 1000
}
