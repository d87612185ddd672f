package deps

import (
	"fmt"
	"regexp"
	"strings"
)

// renderer renders the Jinja dbt allows in packages.yml and
// package-lock.yml: {{ env_var('NAME') }} and {{ env_var('NAME', 'default') }},
// used for tokens in private git URLs. Anything else is refused with a
// clear message rather than rendered wrong.
type renderer struct {
	lookup func(string) (string, bool)
	// secrets are values of DBT_ENV_SECRET_ variables that were rendered;
	// they are masked in every message (git echoes URLs in its errors).
	secrets []string
}

// secretPrefix marks variables whose values dbt never prints.
const secretPrefix = "DBT_ENV_SECRET"

var envVarCall = regexp.MustCompile(`\{\{-?\s*env_var\(\s*(?:'([^'\\]*)'|"([^"\\]*)")\s*(?:,\s*(?:'([^'\\]*)'|"([^"\\]*)")\s*)?\)\s*-?\}\}`)

// render renders every string in v.
func (r *renderer) render(v any) (any, error) {
	switch x := v.(type) {
	case string:
		return r.renderString(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			rv, err := r.render(e)
			if err != nil {
				return nil, err
			}
			out[i] = rv
		}
		return out, nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			rv, err := r.render(e)
			if err != nil {
				return nil, err
			}
			out[k] = rv
		}
		return out, nil
	}
	return v, nil
}

func (r *renderer) renderString(s string) (string, error) {
	if !strings.Contains(s, "{{") && !strings.Contains(s, "{%") && !strings.Contains(s, "{#") {
		return s, nil
	}
	var firstErr error
	out := envVarCall.ReplaceAllStringFunc(s, func(call string) string {
		m := envVarCall.FindStringSubmatch(call)
		name := m[1] + m[2]
		def, hasDef := m[3]+m[4], m[3] != "" || m[4] != "" || strings.Contains(call, ",")
		val, ok := "", false
		if r.lookup != nil {
			val, ok = r.lookup(name)
		}
		if !ok {
			if !hasDef {
				if firstErr == nil {
					firstErr = fmt.Errorf("environment variable %s is not set (env_var('%s') has no default)", name, name)
				}
				return ""
			}
			val = def
		}
		if strings.HasPrefix(name, secretPrefix) && val != "" {
			r.secrets = append(r.secrets, val)
		}
		return val
	})
	if firstErr != nil {
		return "", firstErr
	}
	if rest := envVarCall.ReplaceAllString(s, ""); strings.Contains(rest, "{{") || strings.Contains(rest, "{%") || strings.Contains(rest, "{#") {
		return "", fmt.Errorf("unsupported Jinja in %q", r.mask(s))
	}
	return out, nil
}

// mask hides rendered secrets in a message.
func (r *renderer) mask(msg string) string {
	if r == nil {
		return msg
	}
	for _, s := range r.secrets {
		if len(s) >= 4 {
			msg = strings.ReplaceAll(msg, s, "*****")
		}
	}
	return msg
}
