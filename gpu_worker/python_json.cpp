#include "gpu_worker/python_json.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "common/json_writer.h"

namespace batchq {
namespace {

constexpr int kMaxDepth = 100;

bool Append(PyObject* value, std::string& out, int depth);

// repr(float) as CPython writes it: the shortest digits that read back to the same
// double (here from std::to_chars, several times faster than CPython's dtoa), laid out
// by repr's rule: exponent form when the decimal point falls 4 or more places before
// the first digit or 16 or more after it, else positional, with ".0" when integral.
void AppendRepr(double number, std::string& out) {
  char buffer[40];
  const auto written =
      std::to_chars(buffer, buffer + sizeof buffer, number, std::chars_format::scientific);
  const std::string_view text(buffer, static_cast<std::size_t>(written.ptr - buffer));
  std::size_t at = 0;
  if (text[0] == '-') {
    out += '-';
    at = 1;
  }
  const std::size_t e = text.find('e');
  std::string digits;
  for (std::size_t i = at; i < e; ++i) {
    if (text[i] != '.') digits += text[i];
  }
  // "e+17" or "e-05": the sign, then digits (from_chars takes no '+').
  int exponent = 0;
  std::from_chars(text.data() + e + 2, text.data() + text.size(), exponent);
  if (text[e + 1] == '-') exponent = -exponent;
  const int point = exponent + 1;  // the decimal point's place after the first digit
  const int count = static_cast<int>(digits.size());
  if (point <= -4 || point > 16) {
    out += digits[0];
    if (count > 1) out.append(".").append(digits, 1);
    char tail[8];
    const int size =
        std::snprintf(tail, sizeof tail, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
    out.append(tail, static_cast<std::size_t>(size));
  } else if (point <= 0) {
    out.append("0.").append(static_cast<std::size_t>(-point), '0').append(digits);
  } else if (point < count) {
    out.append(digits, 0, static_cast<std::size_t>(point)).append(".").append(digits, point);
  } else {
    out.append(digits).append(static_cast<std::size_t>(point - count), '0').append(".0");
  }
}

bool AppendFloat(PyObject* value, std::string& out) {
  const double number = PyFloat_AS_DOUBLE(value);
  if (!std::isfinite(number)) return false;  // Python's encoder says why (allow_nan=False)
  AppendRepr(number, out);
  return true;
}

bool AppendInt(PyObject* value, std::string& out) {
  int overflow = 0;
  const long long number = PyLong_AsLongLongAndOverflow(value, &overflow);
  if (overflow != 0 || (number == -1 && PyErr_Occurred())) {
    PyErr_Clear();
    return false;
  }
  out += std::to_string(number);
  return true;
}

bool AppendString(PyObject* value, std::string& out) {
  Py_ssize_t size = 0;
  const char* text = PyUnicode_AsUTF8AndSize(value, &size);
  if (text == nullptr) {  // a lone surrogate: not UTF-8
    PyErr_Clear();
    return false;
  }
  AppendJsonString(out, std::string_view(text, static_cast<std::size_t>(size)));
  return true;
}

bool AppendSequence(PyObject* value, std::string& out, int depth) {
  const bool list = PyList_Check(value);
  const Py_ssize_t size = list ? PyList_GET_SIZE(value) : PyTuple_GET_SIZE(value);
  out += '[';
  for (Py_ssize_t i = 0; i < size; ++i) {
    if (i > 0) out += ',';
    PyObject* item = list ? PyList_GET_ITEM(value, i) : PyTuple_GET_ITEM(value, i);
    if (!Append(item, out, depth + 1)) return false;
  }
  out += ']';
  return true;
}

bool AppendDict(PyObject* value, std::string& out, int depth) {
  out += '{';
  PyObject* key = nullptr;
  PyObject* item = nullptr;
  Py_ssize_t position = 0;
  bool first = true;
  while (PyDict_Next(value, &position, &key, &item)) {
    if (!PyUnicode_Check(key)) return false;  // json turns other keys into text; let it
    if (!first) out += ',';
    first = false;
    if (!AppendString(key, out)) return false;
    out += ':';
    if (!Append(item, out, depth + 1)) return false;
  }
  out += '}';
  return true;
}

// NumPy arrays and scalars, through their tolist() (a list of Python numbers, made in C).
bool AppendToList(PyObject* value, std::string& out, int depth) {
  PyObject* method = PyObject_GetAttrString(value, "tolist");
  if (method == nullptr) {
    PyErr_Clear();
    return false;
  }
  PyObject* plain = PyObject_CallNoArgs(method);
  Py_DECREF(method);
  if (plain == nullptr) {
    PyErr_Clear();
    return false;
  }
  const bool done = plain != value && Append(plain, out, depth + 1);
  Py_DECREF(plain);
  return done;
}

bool Append(PyObject* value, std::string& out, int depth) {
  if (depth > kMaxDepth) return false;
  if (value == Py_None) {
    out += "null";
  } else if (value == Py_True) {
    out += "true";
  } else if (value == Py_False) {
    out += "false";
  } else if (PyFloat_Check(value)) {
    return AppendFloat(value, out);
  } else if (PyLong_Check(value)) {
    return AppendInt(value, out);
  } else if (PyUnicode_Check(value)) {
    return AppendString(value, out);
  } else if (PyList_Check(value) || PyTuple_Check(value)) {
    return AppendSequence(value, out, depth);
  } else if (PyDict_Check(value)) {
    return AppendDict(value, out, depth);
  } else {
    return AppendToList(value, out, depth);
  }
  return true;
}

}  // namespace

bool AppendPythonJson(PyObject* value, std::string& out) { return Append(value, out, 0); }

}  // namespace batchq
