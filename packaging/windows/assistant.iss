; Inno Setup 6 script (6.3 or later) for the PyInstaller one-folder app in dist\assistant.
; Build from the repository root (see packaging\windows\README.md):
;
;   iscc /DAppVersion=0.1.0 packaging\windows\assistant.iss                 CPU build
;   iscc /DAppVersion=0.1.0 /DVariant=cuda packaging\windows\assistant.iss  CUDA build
;
; Output: dist\assistant-VERSION-windows-x64-VARIANT-setup.exe
; Installs for the current user by default (no administrator rights), in
; %LOCALAPPDATA%\Programs\Assistant; the user may choose all users instead.

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z packaging\windows\assistant.iss
#endif
#ifndef Variant
  #define Variant "cpu"
#endif

#define AppName "Assistant"
#define AppExe "assistant.exe"
#define Root "..\.."

[Setup]
; the same AppId for every variant and version: the CPU and CUDA installers upgrade
; (replace) one another and share one entry in Installed apps. Never change it.
AppId={{EF71D8B3-25FC-4DA3-B1CE-6D041A7BF6C7}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Assistant contributors
AppComments=A private AI assistant that runs open-weight models on this computer
DefaultDirName={autopf}\{#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog commandline
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#Root}\dist
OutputBaseFilename=assistant-{#AppVersion}-windows-x64-{#Variant}-setup
SetupIconFile={#Root}\assistant\resources\icons\assistant.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; an upgrade starts from a clean library folder, so no file of the old version stays
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#Root}\dist\assistant\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

; Uninstalling removes the program files only. Chats, settings, models and logs live
; in the user's profile (assistant doctor lists where) and are kept.
