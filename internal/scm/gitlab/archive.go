package gitlab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// Archive streams the repository at sha as a gzipped tarball. An error
// GitLab answers with (404, 403) comes back from Archive itself; one in
// the middle of the stream from Read. Close the reader to stop the
// download.
func (h *Host) Archive(ctx context.Context, sha string) (io.ReadCloser, error) {
	if sha == "" {
		return nil, errors.New("gitlab: archive: empty commit SHA")
	}
	op := fmt.Sprintf("download the archive of %s at %s", h.project, short(sha))
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	w := &firstWrite{w: pw, started: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		defer cancel()
		format := "tar.gz"
		_, err := h.client.Repositories.StreamArchive(h.project, w, &gl.ArchiveOptions{Format: &format, SHA: &sha}, h.req(ctx, retryIdempotent)...)
		if err != nil {
			err = h.fail(op, err, needArchive)
		}
		pw.CloseWithError(err) // nil: the reader sees io.EOF
		done <- err
	}()
	select {
	case <-w.started:
		return &archiveReader{PipeReader: pr, cancel: cancel}, nil
	case err := <-done:
		if err != nil {
			return nil, err
		}
		return &archiveReader{PipeReader: pr, cancel: cancel}, nil
	}
}

// firstWrite tells when the body starts to flow, which means GitLab
// answered 200.
type firstWrite struct {
	w       io.Writer
	once    sync.Once
	started chan struct{}
}

func (f *firstWrite) Write(p []byte) (int, error) {
	f.once.Do(func() { close(f.started) })
	return f.w.Write(p)
}

type archiveReader struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (a *archiveReader) Close() error {
	a.cancel() // stop the download rather than drain it
	return a.PipeReader.Close()
}
