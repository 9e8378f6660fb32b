package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"reflect"
	"strings"

	"github.com/labstack/echo/v4"

	"gatehouse/models"
)

// errTrailingData is a JSON body with more after its one value.
var errTrailingData = &models.Error{Kind: models.BadRequest, Code: "bad_request",
	Detail: "The request body must be exactly one JSON value."}

// errBadJSON is a JSON body that cannot be read into the route's fields.
var errBadJSON = &models.Error{Kind: models.BadRequest, Code: "bad_request",
	Detail: "The request could not be read."}

// bind reads a request body into dst from JSON, a URL-encoded form or
// multipart form data; any other body type is 415 (Echo would also read
// XML). An empty body binds nothing, so required fields are checked by
// validation (422), not here.
//
// A JSON body is read whole — so a body over the route's limit is 413
// even when the value it starts with is short — and must be exactly one
// value: trailing data is 400 (contract §9). Echo's binder would stop
// reading after the first value. A form keeps only what dst reads (see
// bindForm).
func bind(c echo.Context, dst any) error {
	req := c.Request()
	mediaType := ""
	if req.ContentLength != 0 {
		mediaType, _, _ = mime.ParseMediaType(req.Header.Get(echo.HeaderContentType))
		switch mediaType {
		case echo.MIMEApplicationJSON, echo.MIMEApplicationForm, echo.MIMEMultipartForm:
		default:
			return echo.ErrUnsupportedMediaType
		}
	}
	var err error
	switch mediaType {
	case echo.MIMEApplicationJSON:
		err = bindJSON(req.Body, dst)
	case echo.MIMEApplicationForm, echo.MIMEMultipartForm:
		err = bindForm(c, mediaType == echo.MIMEMultipartForm, dst)
	default:
		err = (&echo.DefaultBinder{}).BindBody(c, dst) // no body: binds nothing
	}
	if tooLarge(err) {
		return echo.ErrStatusRequestEntityTooLarge
	}
	return err
}

func bindJSON(body io.Reader, dst any) error {
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(dst); err != nil {
		return errBadJSON
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errTrailingData
	}
	return nil
}

// bindForm reads a URL-encoded or multipart body as Echo's binder would
// (the same parsing, errors and binding), then keeps of it only the fields
// dst reads — its form tags — and "next", the hidden field a form page
// may carry and the handlers and the error handler read with FormValue;
// each kept key and value is copied. Why: net/http parses a form into
// strings that share the whole body's memory, so one short field kept
// would keep the whole 64 KiB body alive while its login waits up to 3 s
// for a hashing slot — under a flood of the largest logins, 500 bodies
// held at once (issue 18). Now what waits is the fields' own bytes, and
// the body is garbage before the wait.
func bindForm(c echo.Context, isMultipart bool, dst any) error {
	req := c.Request()
	var err error
	if isMultipart {
		err = req.ParseMultipartForm(multipartMemory)
	} else {
		err = req.ParseForm()
	}
	if err != nil {
		return echo.NewHTTPError(http.StatusBadRequest, err.Error()).SetInternal(err) // worded by handleError
	}
	keep := formFields(reflect.TypeOf(dst), map[string]bool{"next": true})
	copies := map[string]string{} // one copy of a value in Form, PostForm and MultipartForm
	req.PostForm = copyFields(req.PostForm, keep, copies)
	req.Form = copyFields(req.Form, keep, copies)
	if req.MultipartForm != nil {
		_ = req.MultipartForm.RemoveAll() // no route takes files: nothing to keep on disk
		req.MultipartForm = &multipart.Form{Value: copyFields(req.MultipartForm.Value, keep, copies)}
	}
	return (&echo.DefaultBinder{}).BindBody(c, dst) // parsed already: binds the copies
}

// multipartMemory is how much of a multipart body is held in memory
// (Echo's default); the body limits (64 KiB, 1 MiB) are far below it.
const multipartMemory = 32 << 20

// formFields adds to names the form tags of the struct t (or *t) points
// to, as Echo's binder reads them: tagged fields, and the fields of
// untagged struct fields (embedded ones). For anything but a struct it
// returns nil: keep everything.
func formFields(t reflect.Type, names map[string]bool) map[string]bool {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("form"), ",")
		switch {
		case name != "" && name != "-":
			names[name] = true
		case name == "" && f.Type.Kind() == reflect.Struct:
			formFields(f.Type, names)
		}
	}
	return names
}

// copyFields returns the values whose keys are in keep (all of them for a
// nil keep), keys and values copied out of the body's memory; copies
// remembers the copies made, so a value in several maps is copied once.
func copyFields(values url.Values, keep map[string]bool, copies map[string]string) url.Values {
	clone := func(s string) string {
		c, ok := copies[s]
		if !ok {
			c = strings.Clone(s)
			copies[s] = c
		}
		return c
	}
	out := make(url.Values, len(keep))
	for k, vs := range values {
		if keep != nil && !keep[k] {
			continue
		}
		cp := make([]string, len(vs))
		for i, v := range vs {
			cp[i] = clone(v)
		}
		out[clone(k)] = cp
	}
	return out
}

// tooLarge reports whether err is a body over its limit: a chunked body
// has no Content-Length for BodyLimit to refuse up front; its reader stops
// at the limit, and Echo's binder would report that as a 400.
func tooLarge(err error) bool {
	var maxBytes *http.MaxBytesError
	var inner *echo.HTTPError
	return errors.As(err, &maxBytes) ||
		(errors.As(err, &inner) && (inner.Code == http.StatusRequestEntityTooLarge ||
			(errors.As(inner.Internal, &inner) && inner.Code == http.StatusRequestEntityTooLarge)))
}
