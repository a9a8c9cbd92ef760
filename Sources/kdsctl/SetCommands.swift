import ArgumentParser
import KDSCore
import KDSInput

#if canImport(Glibc)
  import Glibc
#endif

#if canImport(FoundationEssentials)
  import FoundationEssentials
#else
  import Foundation
#endif

/// Where the kiosk's configuration files are, as the kiosk reads them:
/// kiosk.conf, kds.txt, then the writable folder (`ConfigurationLayers`).
struct LayerOptions: ParsableArguments {
  @Option(help: "kiosk.conf (default: /etc/kds/kiosk.conf when it exists).")
  var config: String?

  @Option(
    name: .customLong("boot-config"),
    help:
      "kds.txt (default: the first of /run/kds-boot/kds.txt, the image's view of it, and /boot/efi/kds.txt)."
  )
  var bootConfig: String?

  @Option(
    name: .customLong("conf-dir"),
    help: "The writable folder (default: conf_dir of the files, else /var/lib/kds/kiosk.conf.d).")
  var confDir: String?

  var layers: ConfigurationLayers {
    func existing(_ paths: [String]) -> String? {
      paths.first { FileManager.default.fileExists(atPath: $0) }
    }
    return ConfigurationLayers(
      config: config.map(absolutePath) ?? existing(["/etc/kds/kiosk.conf"]),
      bootConfig: bootConfig.map(absolutePath)
        ?? existing(["/run/kds-boot/kds.txt", "/boot/efi/kds.txt"]),
      confDir: confDir.map(absolutePath))
  }

  /// The folder the files name (without reading it).
  func folder() throws(ConfigError) -> String {
    var l = layers
    if let dir = l.confDir { return dir }
    l.confDir = nil
    return try l.load(read: readText, list: { _ in [] }).confDir
  }
}

func absolutePath(_ path: String) -> String {
  path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
}

func readText(_ path: String) -> String? {
  FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
}

func listFolder(_ path: String) -> [String]? {
  try? FileManager.default.contentsOfDirectory(atPath: path)
}

/// Loads the layers (with `replacing` standing in for files) and checks the
/// input lines too, as the kiosk does at start.
func loadChecked(
  _ layers: ConfigurationLayers, replacing: [String: String?] = [:]
) throws -> ConfigurationLayers.Loaded {
  let loaded = try layers.load(read: readText, list: listFolder, replacing: replacing)
  do {
    _ = try InputConfig(parsing: loaded.configuration.inputText)
  } catch let e as InputConfigError {
    throw ConfigError(
      ConfigSource(file: loaded.configuration.inputSource(ofLine: e.line), line: 0), e.message)
  }
  return loaded
}

/// Writes `text` to `path` atomically: a hidden temporary file in the same
/// folder (never read as a layer), flushed, renamed over the file, the folder
/// flushed. The folder is made when missing, owned like its parent (on the
/// image: the kiosk's user), mode 0700; the file is owned like the folder,
/// mode 0600 (it may hold a token).
func writeAtomically(_ text: String, to path: String) throws {
  let dir = String(path[..<path.lastIndex(of: "/")!])
  var st = stat()
  if stat(dir, &st) != 0 {
    let parent = dir.lastIndex(of: "/").map { String(dir[..<$0]) } ?? "/"
    var pst = stat()
    guard stat(parent.isEmpty ? "/" : parent, &pst) == 0 else {
      throw CtlError(description: "cannot write \(path): \(parent) does not exist")
    }
    guard mkdir(dir, 0o700) == 0 || errno == EEXIST else {
      throw CtlError(description: "cannot make \(dir): \(String(cString: strerror(errno)))")
    }
    _ = chown(dir, pst.st_uid, pst.st_gid)
    guard stat(dir, &st) == 0 else { throw CtlError(description: "cannot read \(dir)") }
  }
  let name = path[path.index(after: path.lastIndex(of: "/")!)...]
  let tmp = dir + "/." + name + ".tmp"
  let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
  guard fd >= 0 else {
    throw CtlError(description: "cannot write \(tmp): \(String(cString: strerror(errno)))")
  }
  var bytes = Array(text.utf8)
  var offset = 0
  while offset < bytes.count {
    let n = bytes[offset...].withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) }
    if n < 0 && errno == EINTR { continue }
    guard n > 0 else {
      let reason = String(cString: strerror(errno))
      close(fd)
      unlink(tmp)
      throw CtlError(description: "cannot write \(tmp): \(reason)")
    }
    offset += n
  }
  _ = fchown(fd, st.st_uid, st.st_gid)
  guard fsync(fd) == 0, close(fd) == 0 else {
    unlink(tmp)
    throw CtlError(description: "cannot write \(tmp): \(String(cString: strerror(errno)))")
  }
  bytes.removeAll()
  guard rename(tmp, path) == 0 else {
    let reason = String(cString: strerror(errno))
    unlink(tmp)
    throw CtlError(description: "cannot replace \(path): \(reason)")
  }
  let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
  if dfd >= 0 {
    _ = fsync(dfd)
    close(dfd)
  }
}

/// Asks the running kiosk to re-read its configuration; prints what it
/// says (what it applied, what needs a restart). Not an error when no kiosk
/// runs: the change applies when it starts.
func reloadKiosk(_ socket: String) throws {
  guard FileManager.default.fileExists(atPath: socket) else {
    print("no kiosk running at \(socket): the change applies when it starts")
    return
  }
  let response: ControlResponse
  do {
    response = try exchange(socket, ControlRequest(cmd: "reload"))
  } catch let e as CtlError {
    print("the kiosk could not be asked to reload (\(e)): systemctl reload kds-kiosk")
    return
  }
  let message = response.message ?? "reloaded"
  print("kiosk: \(message)")
  if message.contains("NOT reloaded") { throw ExitCode(1) }
}

/// `kdsctl set KEY VALUE`: one setting into the writable layer.
struct SetSetting: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "set",
    abstract:
      "Change a setting: written to 50-kdsctl.conf in the writable folder, then the kiosk reloads.",
    discussion: """
      The whole configuration with the change is checked first, with the
      kiosk's own parser (kiosk.conf, kds.txt, the folder's files): a bad value
      is refused and nothing is written. The key's earlier line in
      50-kdsctl.conf is replaced. Then the running kiosk reloads: key maps,
      thresholds, zoom, hold time, alerts, allergens and the log level apply
      at once; the others (server, station, display...) at the next restart,
      which the output says.
      """)
  @OptionGroup var layers: LayerOptions
  @OptionGroup var socket: SocketOption
  @Argument(help: "The key (zoom, sla_orange_after, map.default.KEY_F1...).") var key: String
  @Argument(help: "The value, as in the file (quotes are added when needed).") var value: String

  func run() throws {
    try change(key: key, to: value, layers: layers, socket: socket.socket)
  }
}

/// `kdsctl unset KEY`: removes a setting kdsctl made.
struct UnsetSetting: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "unset",
    abstract:
      "Remove a setting from 50-kdsctl.conf (the files before it, or the default, apply again)."
  )
  @OptionGroup var layers: LayerOptions
  @OptionGroup var socket: SocketOption
  @Argument(help: "The key.") var key: String

  func run() throws {
    try change(key: key, to: nil, layers: layers, socket: socket.socket)
  }
}

func change(key rawKey: String, to value: String?, layers options: LayerOptions, socket: String)
  throws
{
  let key =
    rawKey.hasPrefix("map.") || rawKey.hasPrefix("grab.") || rawKey.hasPrefix("touch.")
    ? rawKey : rawKey.lowercased()
  let layers = options.layers
  let dir: String
  do {
    dir = try options.folder()
  } catch {
    print("refused: the files before the writable folder are bad: \(error)")
    throw ExitCode(1)
  }
  let path = dir + "/" + ConfigurationLayers.kdsctlFileName
  let old = readText(path) ?? ""
  if value == nil && !ConfigurationFileEdit.contains(key, in: old) {
    print("\(key) is not set in \(path): nothing to remove")
    throw ExitCode(1)
  }
  let new: String
  let loaded: ConfigurationLayers.Loaded
  do {
    new = try ConfigurationFileEdit.setting(key, to: value, in: old)
    loaded = try loadChecked(layers, replacing: [path: new])
  } catch {
    print("refused, nothing written: \(error)")
    throw ExitCode(1)
  }
  try writeAtomically(new, to: path)
  let c = loaded.configuration
  if let value {
    let shown = KioskConfiguration.isInputKey(key) ? value : c.shownValue(of: key)
    print("\(key) = \(shown) (written to \(path))")
  } else {
    let now =
      KioskConfiguration.isInputKey(key)
      ? "" : " now \(c.shownValue(of: key)) (\(c.sources[key]?.description ?? "default"))"
    print("\(key) removed from \(path);\(now)")
  }
  if let from = c.sources[key], from.file != path, value != nil {
    print("note: \(from) sets \(key) after it; that value wins")
  }
  if !KioskConfiguration.isReloadable(key) {
    print("\(key) applies when the kiosk restarts (systemctl restart kds-kiosk)")
  }
  try reloadKiosk(socket)
}

/// `kdsctl config show`: the merged configuration with where each value came from.
struct ConfigShow: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "show",
    abstract:
      "Print the configuration the kiosk reads (kiosk.conf, kds.txt, the writable folder), each value with its file:line or `default`; the token is not shown."
  )
  @OptionGroup var layers: LayerOptions

  func run() throws {
    let loaded: ConfigurationLayers.Loaded
    do {
      loaded = try loadChecked(layers.layers)
    } catch {
      print("error: \(error)")
      throw ExitCode(1)
    }
    print("# read: " + (loaded.files.isEmpty ? "no file" : loaded.files.joined(separator: ", ")))
    print("# writable folder: \(loaded.confDir)")
    let rows = loaded.configuration.described
    let width = min(rows.map { $0.key.count + 3 + $0.value.count }.max() ?? 0, 60)
    for row in rows {
      let text = "\(row.key) = \(row.value)"
      let pad = String(repeating: " ", count: max(1, width - text.count + 2))
      print(text + pad + "# " + row.source)
    }
  }
}
