package warehouse

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// MarkerPrefix starts every marker text, so a marker is recognizable among
// schema comments written by people.
const MarkerPrefix = "dataops:env "

type markerJSON struct {
	PR        int       `json:"pr"`
	HeadSHA   string    `json:"head_sha"`
	Owner     string    `json:"owner"`
	CreatedAt time.Time `json:"created_at"`
}

// EncodeMarker renders m as `dataops:env {"pr":12,...}`.
func EncodeMarker(m EnvironmentMarker) string {
	b, err := json.Marshal(markerJSON{m.PR, m.HeadSHA, m.Owner, m.CreatedAt.UTC()})
	if err != nil { // only strings, an int and a time: cannot fail
		panic(err)
	}
	return MarkerPrefix + string(b)
}

// DecodeMarker parses a marker text. ok is false when text is not a marker,
// including a comment that starts with the prefix but is not valid JSON:
// such a schema is treated as not ours.
func DecodeMarker(text string) (m EnvironmentMarker, ok bool) {
	body, found := strings.CutPrefix(text, MarkerPrefix)
	if !found {
		return m, false
	}
	var j markerJSON
	if err := json.Unmarshal([]byte(body), &j); err != nil {
		return m, false
	}
	return EnvironmentMarker{PR: j.PR, HeadSHA: j.HeadSHA, Owner: j.Owner, CreatedAt: j.CreatedAt}, true
}

// ValidateIdentifier checks a raw identifier before it is quoted: engines
// reject NUL, and PostgreSQL silently truncates names past its limit, which
// would make a later lookup by the full name miss the object.
func ValidateIdentifier(d Dialect, kind, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s name is empty", kind)
	case strings.ContainsRune(name, 0):
		return fmt.Errorf("%s name %q contains a NUL byte", kind, name)
	case len(name) > d.MaxIdentifierLength():
		return fmt.Errorf("%s name %q is %d bytes, over the %s limit of %d: use EnvironmentName or a shorter name",
			kind, name, len(name), d.Name(), d.MaxIdentifierLength())
	}
	return nil
}
