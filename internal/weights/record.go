package weights

// NewRecorder returns an empty set that accepts every declaration and
// records it: constructing a model over it lists the tensors (names and
// shapes) that the model's config implies, e.g. to generate random weights
// for a config. Declared tensors hold no data.
func NewRecorder() *Set {
	return &Set{where: map[string]*File{}, used: map[string]bool{}, record: true}
}

// Declared returns the recorded declarations in declaration order.
func (s *Set) Declared() []Info { return s.declared }
