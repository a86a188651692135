// Package dicom writes synthetic grayscale images as DICOM Secondary Capture files (PS3.3 A.8.1), marked as synthetic throughout.
package dicom

import (
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// UIDs and fixed values of every file roentgen writes.
const (
	// SecondaryCaptureImageStorage is the SOP Class UID (PS3.4 B.5).
	SecondaryCaptureImageStorage = "1.2.840.10008.5.1.4.1.1.7"
	// ExplicitVRLittleEndian is the transfer syntax of every file.
	ExplicitVRLittleEndian = "1.2.840.10008.1.2.1"
	// ImplementationClassUID identifies roentgen as the writer in the file
	// meta information: a 2.25 UUID-derived UID of a fixed random UUID
	// (e88a4eb1-27b2-485e-8261-1e821214bab9) drawn once for roentgen.
	ImplementationClassUID = "2.25.309099028052197584514200663479538727609"
	// PatientName is the placeholder name of every synthetic image.
	PatientName = "SYNTHETIC^ROENTGEN"
	// Manufacturer is recorded in the General Equipment module.
	Manufacturer = "roentgen"
)

// Meta is what a file records about how its image was made. Nothing in it
// may come from a real patient.
type Meta struct {
	Prompt, NegativePrompt string
	Seed                   uint64
	Model                  string // model name and weight fingerprint
	// Parameters is every generation setting as one JSON object (as in the
	// PNG tEXt chunk), appended to ImageComments; optional.
	Parameters string
	// PatientID is the synthetic placeholder ID, e.g. derived from the
	// batch item; "" uses "SYN-" and the first digits of the SOP Instance
	// UID. At most 64 characters.
	PatientID string
	Software  string    // SoftwareVersions, e.g. "roentgen v0.3.0"
	Time      time.Time // study, series, content and creation date/time; zero means now
	// SOPInstanceUID, StudyInstanceUID and SeriesInstanceUID; "" draws a
	// fresh UID (NewUID) for each.
	SOPInstanceUID, StudyInstanceUID, SeriesInstanceUID string
}

// Write encodes a width×height MONOCHROME2 image of 8-bit (uint8) or
// 16-bit (uint16) samples, row-major, as a Secondary Capture Image Storage
// Part 10 file in Explicit VR Little Endian.
func Write[P uint8 | uint16](w io.Writer, pix []P, width, height int, meta Meta) error {
	switch {
	case width <= 0 || height <= 0 || width > 65535 || height > 65535:
		return fmt.Errorf("dicom: image size %dx%d is outside 1..65535", width, height)
	case len(pix) != width*height:
		return fmt.Errorf("dicom: %d samples for a %dx%d image", len(pix), width, height)
	case len(meta.PatientID) > 64:
		return fmt.Errorf("dicom: patient ID %q is longer than 64 characters", meta.PatientID)
	}
	bits := 8
	if _, wide := any(pix).([]uint16); wide {
		bits = 16
	}
	raw := make([]byte, 0, len(pix)*bits/8+1)
	for _, v := range pix {
		if bits == 8 {
			raw = append(raw, uint8(v))
		} else {
			raw = binary.LittleEndian.AppendUint16(raw, uint16(v))
		}
	}
	if len(raw)%2 == 1 { // values have even length (PS3.5 7.1.1)
		raw = append(raw, 0)
	}
	elems, err := elements(meta, bits, width, height)
	if err != nil {
		return err
	}
	vr := "OB"
	if bits == 16 {
		vr = "OW"
	}
	// The samples go out as they are: the library writes an unprocessed
	// PixelDataInfo verbatim, with the VR given (OB for 8 bits, PS3.5 A.2).
	val, err := dicom.NewValue(dicom.PixelDataInfo{IntentionallyUnprocessed: true, UnprocessedValueData: raw})
	if err != nil {
		return fmt.Errorf("dicom: pixel data: %w", err)
	}
	elems = append(elems, &dicom.Element{Tag: tag.PixelData, ValueRepresentation: tag.VRPixelData, RawValueRepresentation: vr, Value: val})
	sort.Slice(elems, func(i, j int) bool { return less(elems[i].Tag, elems[j].Tag) })
	if err := dicom.Write(w, dicom.Dataset{Elements: elems}, dicom.SkipVRVerification()); err != nil {
		return fmt.Errorf("dicom: %w", err)
	}
	return nil
}

// elements builds every attribute but Pixel Data.
func elements(m Meta, bits, width, height int) ([]*dicom.Element, error) {
	t := m.Time
	if t.IsZero() {
		t = time.Now()
	}
	date, clock := t.Format("20060102"), t.Format("150405")
	sop, study, series := orNew(m.SOPInstanceUID), orNew(m.StudyInstanceUID), orNew(m.SeriesInstanceUID)
	if m.PatientID == "" {
		m.PatientID = "SYN-" + strings.TrimPrefix(sop, "2.25.")[:min(16, len(sop)-5)]
	}
	software := m.Software
	if software == "" {
		software = Manufacturer
	}
	attrs := []struct {
		t tag.Tag
		v any
	}{
		{tag.FileMetaInformationVersion, []byte{0, 1}},
		{tag.MediaStorageSOPClassUID, SecondaryCaptureImageStorage},
		{tag.MediaStorageSOPInstanceUID, sop},
		{tag.TransferSyntaxUID, ExplicitVRLittleEndian},
		{tag.ImplementationClassUID, ImplementationClassUID},
		{tag.ImplementationVersionName, "ROENTGEN"},
		// SOP Common (C.12.1); ISO_IR 192 is UTF-8, for prompts in any language.
		{tag.SpecificCharacterSet, "ISO_IR 192"},
		{tag.ImageType, []string{"DERIVED", "SECONDARY"}},
		{tag.InstanceCreationDate, date},
		{tag.InstanceCreationTime, clock},
		{tag.SOPClassUID, SecondaryCaptureImageStorage},
		{tag.SOPInstanceUID, sop},
		// General Study (C.7.2.1), General Series (C.7.3.1): OT, the
		// modality Secondary Capture uses for images not acquired on a
		// modality (a DX object would claim detector data we never had).
		{tag.StudyDate, date},
		{tag.ContentDate, date},
		{tag.StudyTime, clock},
		{tag.ContentTime, clock},
		{tag.AccessionNumber, ""},
		{tag.Modality, "OT"},
		// SC Equipment (C.8.6.1): SYN = synthetic image.
		{tag.ConversionType, "SYN"},
		{tag.Manufacturer, Manufacturer},
		{tag.ReferringPhysicianName, ""},
		{tag.StudyDescription, "SYNTHETIC IMAGE - NOT FOR CLINICAL USE"},
		{tag.SeriesDescription, "roentgen synthetic chest X-ray"},
		{tag.DerivationDescription, truncate(derivation(m), 1024)},
		// Patient (C.7.1.1): placeholders only, never real patient data.
		{tag.PatientName, PatientName},
		{tag.PatientID, m.PatientID},
		{tag.PatientBirthDate, ""},
		{tag.PatientSex, ""},
		{tag.BodyPartExamined, "CHEST"},                // unpaired, so no Laterality (C.7.3.1)
		{tag.SoftwareVersions, truncate(software, 64)}, // LO: at most 64 characters
		{tag.StudyInstanceUID, study},
		{tag.SeriesInstanceUID, series},
		{tag.StudyID, "SYN"},
		{tag.SeriesNumber, "1"},
		{tag.InstanceNumber, "1"},
		{tag.PatientOrientation, ""},
		{tag.ImageComments, truncate(comments(m), 10240)},
		// Image Pixel (C.7.6.3).
		{tag.SamplesPerPixel, []int{1}},
		{tag.PhotometricInterpretation, "MONOCHROME2"},
		{tag.Rows, []int{height}},
		{tag.Columns, []int{width}},
		{tag.BitsAllocated, []int{bits}},
		{tag.BitsStored, []int{bits}},
		{tag.HighBit, []int{bits - 1}},
		{tag.PixelRepresentation, []int{0}},
		{tag.BurnedInAnnotation, "NO"},
		{tag.LossyImageCompression, "00"},
	}
	out := make([]*dicom.Element, 0, len(attrs)+1)
	for _, a := range attrs {
		v := a.v
		if s, ok := v.(string); ok {
			v = []string{s}
		}
		e, err := dicom.NewElement(a.t, v)
		if err != nil {
			return nil, fmt.Errorf("dicom: element %s: %w", tag.DebugString(a.t), err)
		}
		out = append(out, e)
	}
	return out, nil
}

// derivation is the DerivationDescription: what made the image, in a line.
func derivation(m Meta) string {
	return fmt.Sprintf("Synthetic image generated by roentgen (text-to-image diffusion), model %s, seed %d, prompt: %s", m.Model, m.Seed, m.Prompt)
}

// comments is the ImageComments: the synthetic mark, prompt, negative
// prompt, seed, model and every parameter.
func comments(m Meta) string {
	var b strings.Builder
	b.WriteString("SYNTHETIC IMAGE, NOT A REAL PATIENT: generated by roentgen; research use only, never for diagnosis.\n")
	fmt.Fprintf(&b, "prompt: %s\nnegative prompt: %s\nseed: %s\nmodel: %s\n", m.Prompt, m.NegativePrompt, strconv.FormatUint(m.Seed, 10), m.Model)
	if m.Parameters != "" {
		fmt.Fprintf(&b, "parameters: %s\n", m.Parameters)
	}
	return b.String()
}

// truncate cuts s to at most n bytes on a UTF-8 boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func orNew(u string) string {
	if u == "" {
		return NewUID()
	}
	return u
}

func less(a, b tag.Tag) bool {
	if a.Group != b.Group {
		return a.Group < b.Group
	}
	return a.Element < b.Element
}
