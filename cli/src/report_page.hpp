#pragma once
// The page of `colony report`: text and number formatting for HTML, the input files it reads
// (CSV and JSON, each failure naming the file), and the HTML document around the charts.
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "colony/base/error.hpp"

namespace colony::cli::reporting {

/// `text` safe inside HTML or SVG text and attribute values: & < > " escaped.
[[nodiscard]] std::string escape(std::string_view text);

/// `v` with `decimals` digits after the point, independent of the C locale; "–" for NaN.
[[nodiscard]] std::string decimal(double v, int decimals);

/// `v` readable in a table: integers with thousands separators ("12,345"), other values with
/// four significant digits ("0.004573", "3.187", "1,234.5"); "–" for NaN.
[[nodiscard]] std::string readable(double v);

/// `v` with three significant digits and a suffix when large: "172k", "3.00M", "0.0046".
[[nodiscard]] std::string compact(double v);

/// `v` short for an axis tick whose step is `step`: "0", "2.5", "12k", "1.5M".
[[nodiscard]] std::string tick_label(double v, double step);

/// `text` cut to at most `chars` characters, the last one an ellipsis when it was cut. Never
/// splits a UTF-8 character.
[[nodiscard]] std::string shorten(std::string_view text, std::size_t chars);

/// `fraction` as a percentage with `decimals` digits: "95.1%".
[[nodiscard]] std::string percent(double fraction, int decimals = 1);

/// A simulated time in seconds as "3d 04:05:06" (days only when there are some).
[[nodiscard]] std::string clock(double seconds);

/// A CSV file with a header line and rows of the same width. Fields may be quoted ("a,b").
struct csv_table {
  std::filesystem::path path;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  std::vector<std::size_t> lines;  ///< the line number of each row in the file

  /// The index of column `name`, or npos.
  [[nodiscard]] std::size_t column(std::string_view name) const;
};

/// Reads `path`. Fails with errc::bad_input naming the file when it is missing or empty, and its
/// line when a row's width differs from the header's (a truncated file).
[[nodiscard]] result<csv_table> read_csv(const std::filesystem::path& path);

/// The numbers of `column` of every row of `table`: "" and "nan" read as NaN. Fails with
/// errc::bad_input naming the file, the line and the column for anything else that is not a
/// number, and naming the column when the table lacks it.
[[nodiscard]] result<std::vector<double>> numbers(const csv_table& table, std::string_view column);

/// Reads `text` as a number into `out`: NaN for "", "nan", "NaN" or "-nan". False when it is
/// something else.
[[nodiscard]] bool parse_number(std::string_view text, double& out);

/// The fields of a JSON file by JSON pointer ("/latency_ms/p95"). A required field that is
/// missing or mistyped reads as empty and records the first such problem; check() reports it.
class json_fields {
 public:
  json_fields(const boost::json::object& o, std::filesystem::path file);

  /// A required number (NaN when missing).
  double number(std::string_view pointer);
  /// A required string ("" when missing).
  std::string string(std::string_view pointer);
  /// A required object or array (empty when missing).
  const boost::json::object& object(std::string_view pointer);
  const boost::json::array& array(std::string_view pointer);

  /// An optional number.
  [[nodiscard]] std::optional<double> maybe_number(std::string_view pointer) const;
  /// An optional value as text: a string as it is, null or missing as "", others as JSON.
  [[nodiscard]] std::string text(std::string_view pointer) const;
  /// The value at `pointer`, or null.
  [[nodiscard]] const boost::json::value* find(std::string_view pointer) const;

  /// Fails with errc::bad_input naming the file, the field and the problem, if there was one.
  [[nodiscard]] result<void> check() const;

 private:
  void note(std::string_view pointer, const std::string& what);
  boost::json::value root_;
  std::filesystem::path file_;
  std::string problem_;
  boost::json::object empty_object_;
  boost::json::array empty_array_;
};

/// `v` as text: a string as it is, anything else as JSON ("0.5", "true", "[1,2]").
[[nodiscard]] std::string json_text(const boost::json::value& v);

/// A section of the page: a card with a heading, a line of explanation, and its contents.
struct page_section {
  std::string id;     ///< the element id ("chart-tasks"); the page's table of contents links it
  std::string title;  ///< the heading
  std::string note;   ///< HTML under the heading; may be ""
  std::string body;   ///< HTML: an <svg>, a table, ...
  bool wide = false;  ///< takes the page's whole width instead of one column of the grid
};

/// The whole document: `title` in <title> and <h1>, `header` (HTML) under it, then the sections
/// in a two-column grid with a table of contents. Self-contained: styles and the self-check
/// script are inline, and nothing is fetched.
[[nodiscard]] std::string html_page(const std::string& title, const std::string& header,
                                    const std::vector<page_section>& sections);

/// An HTML table: `head` cells, then `rows` (cells are HTML: escape text first); columns flagged
/// in `numeric` are right-aligned.
[[nodiscard]] std::string html_table(const std::vector<std::string>& head,
                                     const std::vector<std::vector<std::string>>& rows,
                                     const std::vector<bool>& numeric, const std::string& cls = "");

}  // namespace colony::cli::reporting
