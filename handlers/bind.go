package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"

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
// reading after the first value.
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
	if mediaType == echo.MIMEApplicationJSON {
		err = bindJSON(req.Body, dst)
	} else {
		err = (&echo.DefaultBinder{}).BindBody(c, dst)
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
