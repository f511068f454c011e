package rest

// Binders that several dialects build alike from a reader of their body.

// inputReader reads a request body into a GraphQL input object, as a
// serializer reads it; partial (PATCH) requires no field.
type inputReader func(req *request, partial bool) (map[string]any, error)

// bindInput binds a create: the body, every field it requires, as $input.
// A user's password goes in it like any field: createUser hashes it, and it
// is never stored or shown as sent.
func bindInput(read inputReader) binder {
	return func(req *request) (variables, error) {
		input, err := read(req, false)
		if err != nil {
			return nil, err
		}
		return variables{"input": input}, nil
	}
}

// bindIDInput binds a change of the object the path's {id} names: $id,
// and the body as $input.
func bindIDInput(read inputReader, partial bool) binder {
	return func(req *request) (variables, error) {
		vars, err := bindID(req)
		if err != nil {
			return nil, err
		}
		input, err := read(req, partial)
		if err != nil {
			return nil, err
		}
		vars["input"] = input
		return vars, nil
	}
}
