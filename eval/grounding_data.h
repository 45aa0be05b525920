// Grounding benchmarks as published, read into one sample type:
//
//   screenspot, screenspot-v2   SeeClick's files (screenspot_{mobile,desktop,
//       web}[_v2].json): a JSON list of {img_filename, bbox: [x, y, w, h]
//       pixels, instruction, data_type: text|icon, data_source}; the split
//       (mobile/desktop/web) comes from the file name. Hugging Face re-packs
//       exported as JSON or JSON Lines ({file_name | image, bbox: normalised
//       [x1, y1, x2, y2], instruction, data_type, data_source[, split]}) are
//       read too: a record with file_name instead of img_filename is one.
//   screenspot-pro   annotations/*.json: lists of {id, img_filename, bbox:
//       [x1, y1, x2, y2] pixels, img_size: [w, h], instruction, application,
//       platform, group, ui_type: text|icon}.
//
// Images are looked up under --images, else DIR/images, DIR/screenspotv2_image,
// DIR. Every error names the file and the record's index and field.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace deskpilot::eval {

enum class GroundingFormat { kScreenSpot, kScreenSpotV2, kScreenSpotPro };
std::optional<GroundingFormat> grounding_format_from_name(const std::string& name);
const char* grounding_format_name(GroundingFormat format);

struct GroundingSample {
  std::string id;           // "file.json#index" unless the record has one
  std::string image;        // absolute or DIR-relative path, as found
  std::string instruction;
  double x1 = 0, y1 = 0, x2 = 0, y2 = 0;  // the target box in image pixels (normalised boxes are scaled on load)
  bool normalized = false;  // the box came normalised: scaled once the image size is known
  std::string ui_type;      // "text" or "icon"
  std::string split;        // screenspot: mobile, desktop, web; pro: the platform
  std::string group;        // pro: Dev, Creative, CAD, Scientific, Office, OS; else the split
  std::string application;  // pro: the application; else data_source
};

struct GroundingSet {
  GroundingFormat format = GroundingFormat::kScreenSpot;
  std::string dir, images_dir;
  std::vector<GroundingSample> samples;
};

// All annotation files of DIR (DIR/annotations for -pro), in name order.
// nullopt and *error naming the file, record and field at fault.
std::optional<GroundingSet> load_grounding_set(const std::string& dir, GroundingFormat format,
                                               const std::string& images_dir, std::string* error);

}  // namespace deskpilot::eval
