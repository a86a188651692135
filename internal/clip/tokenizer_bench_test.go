package clip

import "testing"

// benchPrompts are typical chest X-ray impressions, the prompts roentgen is run on.
var benchPrompts = []string{
	"Large right-sided pleural effusion. Cardiomegaly.",
	"50 year old White female. Normal chest radiograph.",
	"No acute cardiopulmonary process.",
	"Small left apical pneumothorax.",
	"Bibasilar atelectasis. No focal consolidation.",
	"Moderate pulmonary edema with bilateral pleural effusions, increased from prior.",
	"86 year old BLACK female. No evidence of acute cardiopulmonary process .",
	"Endotracheal tube terminates 4.5 cm above the carina; NG tube in the stomach.",
	"Right lower lobe pneumonia (RLL) vs. aspiration?",
	"s/p CABG, median sternotomy wires intact.",
	"PICC line tip at the cavoatrial junction.",
	"Heart size is normal. Lungs are clear. No pleural effusion or pneumothorax.",
	"Left lower lobe opacity concerning for pneumonia in the appropriate clinical setting.",
	"Mild interstitial prominence, likely chronic. No acute osseous abnormality.",
	"Hyperinflated lungs consistent with COPD. Stable 8 mm nodule in the right upper lobe.",
	"Interval placement of a right internal jugular central venous catheter, tip in the SVC.",
	"Dual-lead pacemaker in place. Cardiomediastinal silhouette within normal limits.",
	"Small bilateral pleural effusions with adjacent compressive atelectasis.",
	"Widened mediastinum; recommend CT angiography to exclude aortic injury.",
	"Multiple healed left rib fractures. No pneumothorax.",
}

// BenchmarkEncode measures Encode on benchPrompts with a warm word cache (the steady state of a
// batch run) and reports prompts per second on one goroutine.
func BenchmarkEncode(b *testing.B) {
	tok := DefaultTokenizer()
	for _, p := range benchPrompts {
		tok.Encode(p)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range benchPrompts {
			tok.Encode(p)
		}
	}
	b.ReportMetric(float64(b.N*len(benchPrompts))/b.Elapsed().Seconds(), "prompts/s")
}
