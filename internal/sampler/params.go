package sampler

import (
	"fmt"
	"math"
)

// The diffusers scheduler classes this package builds.
const (
	classDDIM   = "DDIMScheduler"
	classPNDM   = "PNDMScheduler"
	classEuler  = "EulerDiscreteScheduler"
	classEulerA = "EulerAncestralDiscreteScheduler"
	classDPM    = "DPMSolverMultistepScheduler"
	classLMS    = "LMSDiscreteScheduler"
)

// params is a Config resolved for one class: every key the class's
// __init__ takes, from the file when present, else that class's default
// (diffusers v0.25.1 signatures). Keys the class lacks keep a neutral value
// and are never read by its algorithm.
type params struct {
	trainSteps     int
	betaStart      float64
	betaEnd        float64
	betaSchedule   string
	trainedBetas   []float64
	rescaleZeroSNR bool
	stepsOffset    int
	spacing        string // leading | linspace | trailing
	prediction     string // epsilon | v_prediction | sample

	finalAlphaOne bool    // set_alpha_to_one (DDIM, PNDM)
	clip          bool    // clip_sample (DDIM)
	clipRange     float64 // clip_sample_range (DDIM)
	thresholding  bool    // DDIM, DPM
	skipPRK       bool    // PNDM

	karras        bool     // use_karras_sigmas (Euler, DPM, LMS)
	sigmaMin      *float64 // Euler, and DPM when the file carries it
	sigmaMax      *float64
	interpolation string // Euler: linear | log_linear
	timestepType  string // Euler: discrete | continuous

	order            int    // solver_order (DPM)
	algorithm        string // DPM: dpmsolver++ | dpmsolver | sde-*
	solverType       string // DPM: midpoint | heun
	lowerOrderFinal  bool
	eulerAtFinal     bool
	luLambdas        bool
	lambdaMinClipped float64
	varianceType     string

	// finalSigmas is final_sigmas_type (DPM, Euler; diffusers 0.26 and
	// later): "" when the file lacks it, for diffusers 0.25's last σ.
	finalSigmas string
	// algorithmFile is algorithm_type before deis is mapped to dpmsolver++
	// (diffusers checks final_sigmas_type against it).
	algorithmFile string
	// otherSigmas names a σ schedule the file asks for that this package
	// does not build (use_exponential_sigmas, ...), or is "".
	otherSigmas string
}

// resolve builds the params of class from c, as class.from_config(c) does.
func (c Config) resolve(class string) params {
	p := params{
		trainSteps: 1000, betaStart: 0.0001, betaEnd: 0.02, betaSchedule: "linear",
		spacing: "linspace", prediction: "epsilon", clipRange: 1,
		interpolation: "linear", timestepType: "discrete",
		order: 2, algorithm: "dpmsolver++", solverType: "midpoint",
		lowerOrderFinal: true, lambdaMinClipped: math.Inf(-1),
	}
	setInt(&p.trainSteps, c.NumTrainTimesteps)
	if c.BetaStart != nil {
		p.betaStart = float64(*c.BetaStart)
	}
	if c.BetaEnd != nil {
		p.betaEnd = float64(*c.BetaEnd)
	}
	setString(&p.betaSchedule, c.BetaSchedule)
	if c.TrainedBetas != nil {
		p.trainedBetas = make([]float64, len(c.TrainedBetas))
		for i, b := range c.TrainedBetas {
			p.trainedBetas[i] = float64(b)
		}
	}
	setInt(&p.stepsOffset, c.StepsOffset)
	setString(&p.prediction, c.PredictionType)

	switch class {
	case classDDIM, classPNDM:
		p.spacing = "leading"
	}
	setString(&p.spacing, c.TimestepSpacing)

	switch class {
	case classDDIM:
		p.finalAlphaOne, p.clip = true, true
		setBool(&p.finalAlphaOne, c.SetAlphaToOne)
		setBool(&p.clip, c.ClipSample)
		setFloat(&p.clipRange, c.ClipSampleRange)
		setBool(&p.thresholding, c.Thresholding)
		setBool(&p.rescaleZeroSNR, c.RescaleZeroSNR)
	case classPNDM:
		setBool(&p.finalAlphaOne, c.SetAlphaToOne)
		setBool(&p.skipPRK, c.SkipPRKSteps)
	case classEuler:
		setString(&p.finalSigmas, c.FinalSigmasType)
		setBool(&p.karras, c.UseKarrasSigmas)
		p.sigmaMin, p.sigmaMax = c.SigmaMin, c.SigmaMax
		setString(&p.interpolation, c.InterpolationType)
		setString(&p.timestepType, c.TimestepType)
		setBool(&p.rescaleZeroSNR, c.RescaleZeroSNR)
	case classEulerA:
		setBool(&p.rescaleZeroSNR, c.RescaleZeroSNR)
	case classLMS:
		setBool(&p.karras, c.UseKarrasSigmas)
	case classDPM:
		setString(&p.finalSigmas, c.FinalSigmasType)
		setBool(&p.karras, c.UseKarrasSigmas)
		// _convert_to_karras reads config.sigma_min when the file carried
		// it (from_config registers unknown keys as hidden config).
		p.sigmaMin, p.sigmaMax = c.SigmaMin, c.SigmaMax
		setBool(&p.thresholding, c.Thresholding)
		setInt(&p.order, c.SolverOrder)
		setString(&p.algorithm, c.AlgorithmType)
		setString(&p.solverType, c.SolverType)
		setBool(&p.lowerOrderFinal, c.LowerOrderFinal)
		setBool(&p.eulerAtFinal, c.EulerAtFinal)
		setBool(&p.luLambdas, c.UseLuLambdas)
		if c.LambdaMinClipped != nil {
			p.lambdaMinClipped = float64(*c.LambdaMinClipped)
		}
		setString(&p.varianceType, c.VarianceType)
		p.algorithmFile = p.algorithm
		// DPMSolverMultistepScheduler.__init__ maps deis to dpmsolver++
		// and logrho/bh1/bh2 to midpoint.
		if p.algorithm == "deis" {
			p.algorithm = "dpmsolver++"
		}
		if p.solverType != "heun" {
			p.solverType = "midpoint"
		}
	}
	keys := map[string]*bool{"use_exponential_sigmas": c.UseExponentialSigmas, "use_beta_sigmas": c.UseBetaSigmas}
	if class == classDPM {
		keys["use_flow_sigmas"] = c.UseFlowSigmas
	}
	switch class {
	case classEuler, classDPM, classLMS:
		for _, k := range []string{"use_exponential_sigmas", "use_beta_sigmas", "use_flow_sigmas"} {
			if v := keys[k]; v != nil && *v && p.otherSigmas == "" {
				p.otherSigmas = k
			}
		}
	}
	return p
}

// checkFinalSigmas refuses a final_sigmas_type other than diffusers' two,
// for the classes that read the key (the others ignore it, as diffusers
// does).
func checkFinalSigmas(p params) error {
	switch p.finalSigmas {
	case "", "zero", "sigma_min":
		return nil
	}
	return fmt.Errorf("final_sigmas_type %q is not one of zero, sigma_min", p.finalSigmas)
}

func setInt(dst *int, v *int) {
	if v != nil {
		*dst = *v
	}
}

func setFloat(dst *float64, v *float64) {
	if v != nil {
		*dst = *v
	}
}

func setString(dst *string, v *string) {
	if v != nil {
		*dst = *v
	}
}

func setBool(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}
