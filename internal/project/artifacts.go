package project

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// WriteArtifacts writes target/compiled/<path>.sql for each selected model
// and test, and target/manifest.json for the whole project, under the
// project directory. Each file is written to a temporary name and renamed,
// so a reader never sees half a file.
func (m *Manifest) WriteArtifacts(projectDir string, sel Selection) error {
	target := filepath.Join(projectDir, "target")
	for _, id := range m.IDs(sel) {
		n := m.Nodes[id]
		if n.Kind != KindModel && n.Kind != KindTest {
			continue
		}
		if err := writeFileAtomic(filepath.Join(target, "compiled", filepath.FromSlash(CompiledPath(n))), []byte(n.CompiledSQL)); err != nil {
			return err
		}
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	return writeFileAtomic(filepath.Join(target, "manifest.json"), data)
}

// CompiledPath is where a node's compiled SQL goes below target/compiled:
// the model's own path, or for a generic test, a folder named after the
// properties file that declares it (as dbt does).
func CompiledPath(n *Node) string {
	if n.Kind == KindTest && n.Test != nil {
		dir := strings.TrimSuffix(n.Path, path.Ext(n.Path))
		name := n.Name
		if n.Config.Alias != "" {
			name = n.Config.Alias
		}
		return dir + "/" + name + ".sql"
	}
	return n.Path
}

func writeFileAtomic(name string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), ".tmp-"+filepath.Base(name))
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
