#include "cli/generate.h"
#include "cli/common.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "engine/chat_template.h"
#include "engine/device.h"
#include "engine/generate.h"
#include "engine/model.h"
#include "engine/tensor_dump.h"
#include "engine/tokenizer.h"
#include "multimodal/chat_prompt.h"
#include "multimodal/image_io.h"
#include "multimodal/preprocess.h"

namespace deskpilot::cli {
namespace {

struct GenerateCli {
  std::string model, mmproj, quantize;
  std::string device = "auto";
  std::string prompt;
  std::string system;
  bool raw = false;
  bool json = false;
  int64_t max_tokens = 256;
  std::optional<double> temperature;
  std::optional<double> top_p;
  std::optional<int64_t> top_k;
  std::optional<double> repetition_penalty;
  double frequency_penalty = 0;
  double presence_penalty = 0;
  uint64_t seed = 0;
  std::vector<std::string> stop;
  bool ignore_eos = false;
  std::vector<std::string> images;
  std::string dump_dir;
};

int run_generate(const GenerateCli& o) {
  std::string error;
  if (!device_for_command(o.device, &error)) {
    std::cerr << "deskpilot: " << error << "\n";
    return 2;
  }
  auto model = model_for_command(o.model, o.device, o.mmproj, o.quantize);
  if (!model) return 1;
  // The images as RGB; the errors name the files.
  std::vector<std::shared_ptr<const multimodal::RgbImage>> images;
  for (const std::string& path : o.images) {
    auto img = multimodal::read_rgb_image(path, &error);
    if (!img) {
      std::cerr << "deskpilot: " << error << "\n";
      return 1;
    }
    images.push_back(std::make_shared<const multimodal::RgbImage>(std::move(*img)));
  }
  std::optional<engine::Prompt> prompt;
  if (o.raw) {
    // The text is the whole prompt, its <|image_pad|> markers expanded.
    prompt.emplace();
    std::vector<int64_t> tokens_per_image;
    for (size_t i = 0; i < images.size(); ++i) {
      auto patches = multimodal::preprocess_image(*images[i], model->files().preprocessor, &error);
      if (!patches) {
        std::cerr << "deskpilot: " << o.images[i] << ": " << error << "\n";
        return 1;
      }
      tokens_per_image.push_back(patches->tokens(model->files().model.vision.spatial_merge_size));
      prompt->images.push_back(std::move(*patches));
    }
    auto expanded = engine::expand_image_pads(o.prompt, tokens_per_image, &error);
    if (!expanded) {
      std::cerr << "deskpilot: --prompt: " << error << "\n";
      return 2;
    }
    prompt->ids = model->tokenizer().encode(*expanded);
  } else {
    // The chat template over a system turn and a user turn (the images, then
    // the text): the same ids the agent and the server give the model.
    std::vector<multimodal::ChatTurn> turns;
    if (!o.system.empty()) turns.push_back({"system", {{o.system, nullptr}}});
    multimodal::ChatTurn user{"user", {}};
    for (const auto& img : images) user.content.push_back({"", img});
    user.content.push_back({o.prompt, nullptr});
    turns.push_back(std::move(user));
    prompt = multimodal::build_chat_prompt(*model, turns, &error);
    if (!prompt) {
      std::cerr << "deskpilot: --prompt: " << error << "\n";
      return 2;
    }
  }

  // The prompt and what is generated must fit the model's positions (the
  // server refuses the same request with context_length_exceeded).
  const int64_t context = model->lm().config().max_position_embeddings;
  const auto prompt_tokens = static_cast<int64_t>(prompt->ids.size());
  if (prompt_tokens + o.max_tokens > context) {
    std::cerr << "deskpilot: --max-tokens " << o.max_tokens << ": the prompt has " << prompt_tokens
              << " tokens, and the model takes " << context << " positions (max_position_embeddings) in all; use "
              << "--max-tokens " << std::max<int64_t>(0, context - prompt_tokens) << " or less\n";
    return 2;
  }

  // Defaults from generation_config.json; flags override.
  const engine::GenerationConfig& g = model->files().generation;
  engine::GenerateOptions options;
  options.max_tokens = o.max_tokens;
  options.ignore_eos = o.ignore_eos;
  options.stop = o.stop;
  engine::SamplingParams& s = options.sampling;
  s.temperature = o.temperature.value_or(g.do_sample ? g.temperature : 0.0);
  s.top_p = o.top_p.value_or(g.do_sample ? g.top_p : 1.0);
  s.top_k = o.top_k.value_or(g.do_sample ? g.top_k : 0);
  s.repetition_penalty = o.repetition_penalty.value_or(g.repetition_penalty);
  s.frequency_penalty = o.frequency_penalty;
  s.presence_penalty = o.presence_penalty;
  s.seed = o.seed;
  if (!o.dump_dir.empty()) {
    options.sink = engine::tensor_dump_sink(o.dump_dir, &error);
    if (!options.sink) {
      std::cerr << "deskpilot: --dump-tensors " << error << "\n";
      return 1;
    }
  }

  engine::GenerateResult result;
  const auto stream = [&](std::string_view text) {
    std::cout << text << std::flush;
  };
  if (!engine::generate(*model, *prompt, options, o.json ? nullptr : std::function<void(std::string_view)>(stream),
                        &result, &error)) {
    std::cerr << "deskpilot: " << error << "\n";
    return 1;
  }
  const auto rate = [](size_t n, double ms) { return ms > 0 ? static_cast<double>(n) * 1000.0 / ms : 0.0; };
  if (o.json) {
    nlohmann::json j = {{"prompt_ids", result.prompt_ids},
                        {"generated_ids", result.generated_ids},
                        {"text", result.text},
                        {"finish_reason", result.finish_reason},
                        {"images", static_cast<int64_t>(prompt->images.size())},
                        {"rope_delta", result.rope_delta},
                        {"vision_ms", result.vision_ms},
                        {"prefill_ms", result.prefill_ms},
                        {"decode_ms", result.decode_ms},
                        {"device", engine::device_name(model->device())}};
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    std::cout << "\n";
    if (!prompt->images.empty())
      std::fprintf(stderr, "deskpilot: %zu images encoded in %.1f ms\n", prompt->images.size(), result.vision_ms);
    std::fprintf(stderr, "deskpilot: on %s: prompt %zu tokens in %.1f ms (%.1f tok/s), generated %zu in %.1f ms (%.1f tok/s), %s\n",
                 engine::device_description(model->device()).c_str(), result.prompt_ids.size(), result.prefill_ms, rate(result.prompt_ids.size(), result.prefill_ms),
                 result.generated_ids.size(), result.decode_ms, rate(result.generated_ids.size(), result.decode_ms),
                 result.finish_reason.c_str());
  }
  return 0;
}

struct TokenizeCli {
  std::string model;
  std::string text;
  std::string decode;
  bool json = false;
};

// "1,2,3", "1 2 3" or "[1, 2, 3]".
bool parse_ids(const std::string& text, std::vector<int32_t>* ids, std::string* error) {
  size_t i = 0;
  const auto sep = [](char c) { return c == ',' || c == ' ' || c == '[' || c == ']' || c == '\n' || c == '\t'; };
  while (i < text.size()) {
    if (sep(text[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < text.size() && !sep(text[j])) ++j;
    const std::string word = text.substr(i, j - i);
    char* end = nullptr;
    const long long v = std::strtoll(word.c_str(), &end, 10);
    if (*end != '\0' || word.empty() || v < 0 || v > 0x7FFFFFFF) {
      *error = "--decode: '" + word + "' at position " + std::to_string(i) + " is not a token id";
      return false;
    }
    ids->push_back(static_cast<int32_t>(v));
    i = j;
  }
  return true;
}

int run_tokenize(const TokenizeCli& o) {
  std::string error;
  const std::string path =
      std::filesystem::is_directory(o.model) ? o.model + "/tokenizer.json" : o.model;  // a folder or the file itself
  auto tokenizer = engine::Tokenizer::load(path, &error);
  if (!tokenizer) {
    std::cerr << "deskpilot: " << error << "\n";
    return 1;
  }
  if (!o.decode.empty()) {
    std::vector<int32_t> ids;
    if (!parse_ids(o.decode, &ids, &error)) {
      std::cerr << "deskpilot: " << error << "\n";
      return 2;
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] >= tokenizer->vocab_size() || tokenizer->token_bytes(ids[i]).empty()) {
        std::cerr << "deskpilot: --decode: id " << ids[i] << " (item " << i << ") is not in " << path << "\n";
        return 2;
      }
    }
    const std::string text = tokenizer->decode(ids);
    if (o.json) {
      std::cout << nlohmann::json({{"ids", ids}, {"text", text}}).dump() << "\n";
    } else {
      std::cout << text << "\n";
    }
    return 0;
  }
  const std::vector<int32_t> ids = tokenizer->encode(o.text);
  if (o.json) {
    std::vector<std::string> pieces;
    for (int32_t id : ids) pieces.push_back(tokenizer->token_bytes(id));
    std::cout << nlohmann::json({{"ids", ids}, {"pieces", pieces}})
                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
  } else {
    for (int32_t id : ids) {
      std::cout << id << " -> " << nlohmann::json(tokenizer->token_bytes(id))
                                       .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                << "\n";
    }
  }
  return 0;
}

}  // namespace

void add_generate_command(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<GenerateCli>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate text with a Qwen2-VL / Qwen2.5-VL model folder");
  cmd->add_option("--model", o->model,
                  "Hugging Face model folder (config.json, tokenizer.json, *.safetensors), or a GGUF file (or folder)")
      ->required();
  cmd->add_option("--mmproj", o->mmproj, "GGUF: the vision tower's mmproj file (default: the one beside --model)");
  cmd->add_option("--quantize", o->quantize, "Quantize the text weights on load: q8_0, q4_k_m, q5_k_m, q6_k, ...");
  cmd->add_option("--device", o->device, "cpu, cuda or auto (the GPU when there is one)")->capture_default_str();
  cmd->add_option("--prompt", o->prompt, "The user message (or the whole prompt with --raw)")->required();
  cmd->add_option("--system", o->system, "A system message (default: the template's)");
  cmd->add_flag("--raw", o->raw, "Tokenize the prompt as it is, without the chat template");
  cmd->add_option("--max-tokens", o->max_tokens, "Most tokens to generate")->check(CLI::Range(int64_t{1}, int64_t{1} << 20));
  cmd->add_option("--temperature", o->temperature, "0 is greedy (default: generation_config.json)")
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--top-p", o->top_p, "Nucleus sampling mass")->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--top-k", o->top_k, "Sample among the k best (0: off)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--repetition-penalty", o->repetition_penalty, "transformers' repetition penalty")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--frequency-penalty", o->frequency_penalty, "OpenAI's frequency penalty");
  cmd->add_option("--presence-penalty", o->presence_penalty, "OpenAI's presence penalty");
  cmd->add_option("--seed", o->seed, "Seed of the sampler");
  cmd->add_option("--stop", o->stop, "Stop string (repeatable)");
  cmd->add_flag("--ignore-eos", o->ignore_eos, "Keep generating past end-of-sequence tokens");
  cmd->add_option("--image", o->images, "Screenshot(s) for the prompt, in order (PNG or JPEG; repeatable)");
  cmd->add_option("--dump-tensors", o->dump_dir, "Write every named intermediate to this folder (index.json + .bin)");
  cmd->add_flag("--json", o->json, "Print prompt ids, generated ids and text as one JSON object");
  cmd->callback([o, exit_code] { *exit_code = run_generate(*o); });
}

void add_tokenize_command(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<TokenizeCli>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Token ids of a text (or the text of ids) with a model's tokenizer");
  cmd->add_option("--model", o->model, "Model folder or tokenizer.json")->required();
  cmd->add_option("text", o->text, "Text to tokenize");
  cmd->add_option("--decode", o->decode, "Ids to decode instead, such as 9707,11,1879");
  cmd->add_flag("--json", o->json, "One JSON object: ids and pieces (or ids and text)");
  cmd->callback([o, exit_code] { *exit_code = run_tokenize(*o); });
}

}  // namespace deskpilot::cli
